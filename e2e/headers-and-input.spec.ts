import { expect, test, type Page } from "@playwright/test";
import { admin, shoot, signIn } from "./fixtures";

// Issue 13, "Input and headers": security headers with a nonce-based CSP the pages pass, 413 for
// oversized bodies, names with hidden characters refused in the form, and the logo.

async function collectCspViolations(page: Page): Promise<string[]> {
  const found: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to (execute|load|apply)/i.test(m.text())) found.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`Refused to load (CSP): ${e.violatedDirective} ${e.blockedURI}`));
  });
  return found;
}

function expectSecurityHeaders(headers: Record<string, string>) {
  const csp = headers["content-security-policy"];
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{16,}' 'strict-dynamic'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("same-origin");
}

test("the sign-in page and console pages carry the security headers and break none of them", async ({ page }) => {
  const violations = await collectCspViolations(page);
  const signInPage = await page.goto("/sign-in");
  expectSecurityHeaders(signInPage!.headers());
  const first = signInPage!.headers()["content-security-policy"];
  await expect(page.getByTestId("logo")).toBeVisible();
  await shoot(page, "sign-in-logo");

  await signIn(page, admin); // the page's scripts ran: the form posted and navigated
  const dashboard = await page.goto("/");
  expectSecurityHeaders(dashboard!.headers());
  expect(dashboard!.headers()["content-security-policy"]).not.toBe(first); // a fresh nonce per response
  await expect(page.getByTestId("logo")).toBeVisible();
  await page.goto("/jobs/new");
  await page.getByLabel("Name").first().fill("csp-check");
  await page.goto("/users");
  await shoot(page, "console-logo");
  expect(violations).toEqual([]);
});

test("the favicon is the logo", async ({ page }) => {
  await page.goto("/sign-in");
  const href = await page.locator('link[rel="icon"]').first().getAttribute("href");
  expect(href).toContain("icon");
  const icon = await page.request.get(href!);
  expect(icon.status()).toBe(200);
  expect(await icon.text()).toContain("<svg");
});

test("a 5 MB body is answered 413 with a clear message, not 500", async ({ page }) => {
  await signIn(page, admin);
  const big = "x".repeat(5 * 1024 * 1024);
  const route = await page.request.post("/api/backup-preview", { data: big, headers: { "Content-Type": "application/json" } });
  expect(route.status()).toBe(413);
  expect((await route.json()).error).toContain("too large");
  // A server action request (any action id: the size is refused before the action is looked up).
  const action = await page.request.post("/users", { data: big, headers: { "Next-Action": "0".repeat(42), "Content-Type": "text/plain;charset=UTF-8" } });
  expect(action.status()).toBe(413);
  expect(await action.text()).toContain("The request is too large");
  // Under the 1 MB limit but over what any form needs: the route wrapper says so (a same-origin
  // request, as a browser sends it: one without an Origin is refused before its size matters).
  const origin = new URL(page.url()).origin;
  const medium = await page.request.post("/api/backup-preview", { data: "y".repeat(200 * 1024), headers: { "Content-Type": "application/json", Origin: origin } });
  expect(medium.status()).toBe(413);
});

test("a name with a right-to-left override is refused in the form, saying why", async ({ page }) => {
  await signIn(page, admin);
  await page.goto("/users");
  const form = page.getByTestId("create-user-form");
  await form.getByLabel("Email").fill("rlo@e2e.strongroom.test");
  await form.getByLabel("Name").fill("Mallory \u202Enimda");
  await form.getByLabel("Role").selectOption({ label: "Backup Viewer" });
  await form.getByLabel("Initial password").fill("a-long-enough-password");
  // Validated as it is typed, with the schema the server applies again.
  await expect(form).toContainText("invisible or control character");
  await expect(form.getByTestId("create-user-submit")).toBeDisabled();
  await expect(page.getByTestId("user-table")).not.toContainText("rlo@e2e.strongroom.test");
});

test("a form posted with a 2 MB value says the request is too large", async ({ page }) => {
  await signIn(page, admin);
  await page.goto("/users");
  // What a crafted page (or a pasted file) would send: the form's own checks are bypassed.
  await page.getByTestId("create-user-form").evaluate((form: HTMLFormElement) => {
    const name = form.querySelector<HTMLInputElement>('input[name="name"]')!;
    name.removeAttribute("maxlength");
    name.value = "x".repeat(2 * 1024 * 1024);
    form.requestSubmit();
  });
  await expect(page.getByText("The request is too large")).toBeVisible();
  await shoot(page, "request-too-large");
});
