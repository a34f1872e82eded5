// Issue 13: the session cookie was not Secure behind an HTTPS proxy.
import { describe, expect, it } from "vitest";
import { authOptionsFor } from "./options";

describe("authOptionsFor", () => {
  it("makes the session cookie Secure when the request arrived over HTTPS (as the forwarded-headers guard resolved it)", () => {
    expect(authOptionsFor({ "x-forwarded-proto": "https" }).useSecureCookies).toBe(true);
    expect(authOptionsFor(new Headers({ "x-forwarded-proto": "http" })).useSecureCookies).toBe(false);
    expect(authOptionsFor({}).useSecureCookies).toBe(false);
  });
  it("keeps the session short and JWT-based, with a server-side session id", () => {
    const o = authOptionsFor({});
    expect(o.session).toMatchObject({ strategy: "jwt", maxAge: 8 * 60 * 60 });
    expect(o.events?.signOut).toBeTypeOf("function");
  });
});
