// Headers every response carries (proxy.ts sets them).
//  - Content-Security-Policy: scripts only from this origin and only with this response's nonce
//    ('strict-dynamic' lets those load Next's chunks); no plugins, no <base>, forms post only here,
//    and frame-ancestors 'none' so no other site can frame the console (click-jacking). Styles allow
//    inline style attributes (React renders progress bars with them); a style cannot run script.
//  - X-Content-Type-Options: nosniff, Referrer-Policy: same-origin (addresses, which name jobs and
//    VMs, never leave the console), X-Frame-Options for browsers without frame-ancestors.

/** A fresh, unguessable nonce per response (base64 of 16 random bytes). */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

export function contentSecurityPolicy(nonce: string, { dev = false } = {}): string {
  return [
    `default-src 'self'`,
    // Development (next dev) evaluates code for fast refresh; production never does.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    `style-src 'self' 'unsafe-inline'`,
    `img-src 'self' data: blob:`,
    `font-src 'self'`,
    `connect-src 'self'`,
    `object-src 'none'`,
    `base-uri 'self'`,
    `form-action 'self'`,
    `frame-ancestors 'none'`,
  ].join("; ");
}

export const STATIC_SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
  "X-Frame-Options": "DENY",
};
