// Issue 13 (SEC-4, SEC-1): X-Forwarded-For was believed from anyone — a new value per attempt beat
// the per-address sign-in throttle and forged the audit log's source address.
import http from "node:http";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { rewriteForwardedHeaders } from "./forwarded-headers-guard";
import { isHttpsRequest, sourceIpFrom } from "./source-ip";
import { normaliseAddress, proxyList, resolveClient } from "./trusted-proxies";

const none = proxyList([]);
const proxies = proxyList(["10.0.0.0/8", "192.0.2.7", "::1"]);

describe("resolveClient", () => {
  it("ignores forwarded headers from a peer that is not a trusted proxy (the default: none is)", () => {
    for (const list of [none, proxies]) {
      expect(resolveClient(list, { socketAddress: "203.0.113.9", socketEncrypted: false, forwardedFor: "1.2.3.4", forwardedProto: "https" })).toEqual({ ip: "203.0.113.9", protocol: "http", viaTrustedProxy: false });
    }
    expect(resolveClient(none, { socketAddress: "::ffff:127.0.0.1", socketEncrypted: false, forwardedFor: "6.6.6.6" }).ip).toBe("127.0.0.1");
  });

  it("believes a trusted proxy, walking X-Forwarded-For from the right past trusted hops", () => {
    expect(resolveClient(proxies, { socketAddress: "10.1.1.1", socketEncrypted: false, forwardedFor: "6.6.6.6, 198.51.100.4, 10.2.2.2", forwardedProto: "https" })).toEqual({ ip: "198.51.100.4", protocol: "https", viaTrustedProxy: true });
    // A client-forged left part never wins over the nearest untrusted hop.
    expect(resolveClient(proxies, { socketAddress: "192.0.2.7", socketEncrypted: false, forwardedFor: ["6.6.6.6", "198.51.100.5"] }).ip).toBe("198.51.100.5");
    // Garbage stops the walk at the last readable hop.
    expect(resolveClient(proxies, { socketAddress: "::1", socketEncrypted: false, forwardedFor: "not-an-ip, 10.3.3.3" }).ip).toBe("10.3.3.3");
    expect(resolveClient(proxies, { socketAddress: "::1", socketEncrypted: true }).protocol).toBe("https");
  });

  it("normalises addresses", () => {
    expect(normaliseAddress("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(normaliseAddress("[2001:db8::1]")).toBe("2001:db8::1");
    expect(normaliseAddress("evil\n")).toBeNull();
    expect(normaliseAddress("")).toBeNull();
  });
});

function fakeRequest(remoteAddress: string, headers: Record<string, string>): http.IncomingMessage {
  const socket = new net.Socket();
  Object.defineProperty(socket, "remoteAddress", { value: remoteAddress });
  const req = new http.IncomingMessage(socket);
  req.headers = { ...headers };
  return req;
}

describe("the forwarded-headers guard (installed at server start)", () => {
  it("replaces a client's own X-Forwarded-* with the socket's address and protocol", () => {
    const req = fakeRequest("203.0.113.9", { "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example", "x-real-ip": "5.5.5.5", host: "console.local" });
    rewriteForwardedHeaders(req, none);
    expect(req.headers).toEqual({ "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "http", host: "console.local" });
    expect(sourceIpFrom(req.headers)).toBe("203.0.113.9");
    expect(isHttpsRequest(req.headers, "http://console.local")).toBe(false);
  });

  it("keeps what a trusted proxy says, resolved to one address", () => {
    const req = fakeRequest("10.0.0.2", { "x-forwarded-for": "6.6.6.6, 198.51.100.4", "x-forwarded-proto": "https", "x-forwarded-host": "backup.example.com" });
    rewriteForwardedHeaders(req, proxies);
    expect(req.headers).toMatchObject({ "x-forwarded-for": "198.51.100.4", "x-forwarded-proto": "https", "x-forwarded-host": "backup.example.com" });
    // The session cookie becomes Secure behind an HTTPS proxy, or whenever NEXTAUTH_URL is https.
    expect(isHttpsRequest(req.headers, "http://localhost:3000")).toBe(true);
    expect(isHttpsRequest({}, "https://backup.example.com")).toBe(true);
  });
});
