import { createPublicKey, type JsonWebKey, type KeyObject, verify } from "node:crypto";
import { type SignatureVerifier, type VerifySignatureInput } from "./SignatureVerifier.js";

/**
 * Verifies ES256 checkpoint signatures with public keys the auditor holds (JWK, P-256), so a
 * verifier needs neither the app nor Key Vault. Keys are looked up by key id; unknown ids fail.
 */
export class PublicKeySignatureVerifier implements SignatureVerifier {
  private readonly keys = new Map<string, KeyObject>();

  constructor(keys: Readonly<Record<string, JsonWebKey>> = {}) {
    for (const [keyId, jwk] of Object.entries(keys)) this.addKey(keyId, jwk);
  }

  addKey(keyId: string, jwk: JsonWebKey): void {
    if (jwk.kty !== "EC" || jwk.crv !== "P-256") throw new TypeError("Checkpoint keys are EC P-256");
    const { kty, crv, x, y } = jwk;
    this.keys.set(keyId, createPublicKey({ key: { kty, crv, x, y }, format: "jwk" }));
  }

  async verify(input: VerifySignatureInput): Promise<boolean> {
    const key = this.keys.get(input.keyId);
    if (key === undefined || input.signature.length !== 64) return false;
    return verify("sha256", input.message, { key, dsaEncoding: "ieee-p1363" }, input.signature);
  }
}
