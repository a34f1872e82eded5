import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { NativeKeyProvider } from "./native-key-provider";
import { KeyProviderError } from "./types";

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), "strongroom-nkp-"));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KeyProviderError);
    return (e as KeyProviderError).code;
  }
  throw new Error("expected a KeyProviderError");
}

describe("NativeKeyProvider", () => {
  it("creates a 0600 site secret once, and random 32-byte KEKs with UUID ids", async () => {
    const kp = await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    const secretFile = path.join(folder, "site-secret.key");
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const secret = await readFile(secretFile);
    expect(secret).toHaveLength(32);

    const a = await kp.createKey();
    const b = await kp.createKey();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    const ka = await kp.getKey(a);
    expect(ka).toHaveLength(32);
    expect(ka.equals(await kp.getKey(b))).toBe(false);

    // A second open (a restart) keeps the same secret and finds the same keys.
    const again = await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    expect((await readFile(secretFile)).equals(secret)).toBe(true);
    expect((await again.getKey(a)).equals(ka)).toBe(true);
  });

  it("stores only sealed keys: the KEK bytes never appear in the key store", async () => {
    const kp = await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    const id = await kp.createKey();
    const kek = await kp.getKey(id);
    const store = await readFile(path.join(folder, "native-keys.json"));
    expect(store.includes(kek)).toBe(false);
    expect(store.toString("utf8").includes(kek.toString("base64"))).toBe(false);
    expect(store.toString("utf8").includes(kek.toString("hex"))).toBe(false);
    expect(JSON.parse(store.toString("utf8"))).toMatchObject({ version: 1, providerId: "kp-prod-native" });
  });

  it("sees keys created by another instance on the same folder (a second process)", async () => {
    const one = await NativeKeyProvider.open({ folder, providerId: "kp-dr-native" });
    const two = await NativeKeyProvider.open({ folder, providerId: "kp-dr-native" });
    const [x, y] = await Promise.all([one.createKey(), two.createKey()]);
    expect((await two.getKey(x)).equals(await one.getKey(x))).toBe(true);
    expect((await one.getKey(y)).equals(await two.getKey(y))).toBe(true);
    const reopened = await NativeKeyProvider.open({ folder, providerId: "kp-dr-native" });
    expect(reopened.keyIds().sort()).toEqual([x, y].sort());
  });

  it("many concurrent creations all persist", async () => {
    const kp = await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    const ids = await Promise.all(Array.from({ length: 12 }, () => kp.createKey()));
    const reopened = await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    expect(reopened.keyIds().sort()).toEqual(ids.sort());
  });

  it("unknown id ⇒ key-not-found; another site secret ⇒ bad-response; another provider's store ⇒ bad-response", async () => {
    const kp = await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    const id = await kp.createKey();
    expect(await codeOf(kp.getKey("00000000-0000-4000-8000-000000000000"))).toBe("key-not-found");

    await writeFile(path.join(folder, "site-secret.key"), Buffer.alloc(32, 7), { mode: 0o600 });
    const wrongSecret = await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    expect(await codeOf(wrongSecret.getKey(id))).toBe("bad-response");

    await expect(NativeKeyProvider.open({ folder, providerId: "kp-other" })).rejects.toMatchObject({ code: "bad-response" });
  });

  it("a tampered store is refused, never silently read", async () => {
    const kp = await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    const id = await kp.createKey();
    const storePath = path.join(folder, "native-keys.json");
    const store = JSON.parse(await readFile(storePath, "utf8"));
    const sealed = Buffer.from(store.keys[id].sealed, "base64");
    sealed[20] ^= 1;
    store.keys[id].sealed = sealed.toString("base64");
    await writeFile(storePath, JSON.stringify(store));
    const reopened = await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    expect(await codeOf(reopened.getKey(id))).toBe("bad-response");

    await writeFile(storePath, "{ not json");
    await expect(NativeKeyProvider.open({ folder, providerId: "kp-prod-native" })).rejects.toMatchObject({ code: "bad-response" });
  });

  it("refuses a site secret readable by others", async () => {
    await NativeKeyProvider.open({ folder, providerId: "kp-prod-native" });
    await chmod(path.join(folder, "site-secret.key"), 0o644);
    await expect(NativeKeyProvider.open({ folder, providerId: "kp-prod-native" })).rejects.toThrow(/readable by other users/);
  });
});
