// Recovery keysets (KEY-6): generate, export/import, and the request/response exchange.
// RSA 2048 here for speed (generation of 4096 takes ~2 s); the default is 4096.
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, WrongKeyError } from "../errors";
import { KeyRing } from "./key-ring";
import { protectKey, resolveProtection } from "./protection";
import { answerRecoveryRequest, applyRecoveryResponse, createRecoveryRequest } from "./recovery-exchange";
import { exportKeyset, generateRecoveryKeyset, importKeyset } from "./recovery-keyset";
import { SecretKey } from "./secret-key";
import { createPasswordKey, TEST_ONLY_KDF_PARAMS } from "./user-key";

const ctx = Buffer.alloc(32, 9);

describe("recovery keyset", async () => {
  const keyset = await generateRecoveryKeyset({ modulusLength: 2048 });

  it("exports the public half alone, or with a passphrase-encrypted private key, and imports both", () => {
    const pub = importKeyset(exportKeyset(keyset));
    expect(pub.id).toBe(keyset.id);
    expect(pub.hasPrivateKey).toBe(false);
    const json = exportKeyset(keyset, { includePrivateKey: true, passphrase: "vault passphrase" });
    expect(json).toContain("ENCRYPTED PRIVATE KEY");
    const full = importKeyset(json, "vault passphrase");
    expect(full.hasPrivateKey).toBe(true);
    expect(full.id).toBe(keyset.id);
  });

  it("refuses a wrong passphrase without echoing it, and a keyset id that does not match its key", async () => {
    const json = exportKeyset(keyset, { includePrivateKey: true, passphrase: "vault passphrase" });
    const err = (() => {
      try {
        importKeyset(json, "guess");
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(WrongKeyError);
    expect(err!.message).not.toContain("guess");
    const other = await generateRecoveryKeyset({ modulusLength: 2048 });
    const forged = JSON.parse(exportKeyset(keyset)) as Record<string, string>;
    forged.keysetId = other.id;
    expect(() => importKeyset(JSON.stringify(forged))).toThrow(InvalidArgumentError);
  });

  it("opens a storage key in a key ring without the password", async () => {
    const password = await createPasswordKey("pw", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
    const plan = await resolveProtection({ password, recoveryKeysets: [keyset.publicOnly()] }, 0);
    const storageKey = SecretKey.generate("storage");
    const protections = await protectKey(plan, storageKey, ctx);
    expect(protections.map((p) => p.header.kind)).toEqual(["password", "recovery-keyset"]);
    const ring = new KeyRing().addRecoveryKeyset(keyset);
    const opened = await ring.unwrap(protections, ctx, "storage", "test point");
    expect(opened.expose().equals(storageKey.expose())).toBe(true);
  });

  it("answers a recovery request with the storage key sealed for that request only", async () => {
    const password = await createPasswordKey("pw", { params: TEST_ONLY_KDF_PARAMS, allowWeakKdf: "tests-only" });
    const plan = await resolveProtection({ password, recoveryKeysets: [keyset.publicOnly()] }, 0);
    const storageKey = SecretKey.generate("storage");
    const protections = await protectKey(plan, storageKey, ctx);

    const pending = createRecoveryRequest(protections, ctx, keyset.id); // backup administrator
    const requestJson = JSON.stringify(pending.request);
    expect(requestJson).not.toContain(storageKey.expose().toString("base64"));
    const response = answerRecoveryRequest(JSON.parse(requestJson), keyset); // security officer
    const recovered = applyRecoveryResponse(pending, JSON.parse(JSON.stringify(response))); // administrator
    expect(recovered.expose().equals(storageKey.expose())).toBe(true);

    // Another pending request cannot open this response, and a public-only keyset cannot answer.
    const otherPending = createRecoveryRequest(protections, ctx, keyset.id);
    expect(() => applyRecoveryResponse(otherPending, response)).toThrow(InvalidArgumentError);
    expect(() => answerRecoveryRequest(pending.request, keyset.publicOnly())).toThrow(/no private key/);
    expect(JSON.stringify(pending)).not.toContain("PRIVATE");
  });
});
