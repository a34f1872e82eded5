// Issue 13 (SEC-1): a server action with no Origin header was accepted.
import { describe, expect, it } from "vitest";
import { crossOriginRefusal } from "./same-origin";

const url = "http://localhost:3000";

describe("crossOriginRefusal", () => {
  it("lets the console's own pages through", () => {
    expect(crossOriginRefusal({ origin: "http://localhost:3000", host: "localhost:3000" }, url)).toBeNull();
    expect(crossOriginRefusal(new Headers({ origin: "http://console.lan:3000", host: "console.lan:3000", "x-forwarded-proto": "http" }), url)).toBeNull();
    expect(crossOriginRefusal({ "sec-fetch-site": "same-origin", host: "localhost:3000" }, url)).toBeNull();
    // Behind a trusted proxy (its X-Forwarded-Host/-Proto survive the guard).
    expect(crossOriginRefusal({ origin: "https://backup.example.com", host: "10.0.0.5:3000", "x-forwarded-host": "backup.example.com", "x-forwarded-proto": "https" }, url)).toBeNull();
  });

  it("refuses a missing, null or foreign Origin with a message that says why", () => {
    expect(crossOriginRefusal({ host: "localhost:3000" }, url)).toMatch(/without an Origin header/);
    expect(crossOriginRefusal({ origin: "null", host: "localhost:3000" }, url)).toMatch(/without an Origin header/);
    expect(crossOriginRefusal({ origin: "https://evil.example", host: "localhost:3000" }, url)).toMatch(/another site/);
    expect(crossOriginRefusal({ origin: "http://localhost:3000.evil.example", host: "localhost:3000" }, url)).toMatch(/another site/);
    // Sec-Fetch-Site: same-origin does not excuse a foreign Origin.
    expect(crossOriginRefusal({ "sec-fetch-site": "same-origin", origin: "https://evil.example", host: "localhost:3000" }, url)).toMatch(/another site/);
    expect(crossOriginRefusal({ "sec-fetch-site": "cross-site", host: "localhost:3000" }, url)).not.toBeNull();
  });
});
