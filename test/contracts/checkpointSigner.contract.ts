import { describe, expect, it } from "vitest";
import { type CheckpointSigner } from "../../src/core/audit/CheckpointSigner.js";
import { sha256 } from "../../src/core/audit/hashing.js";
import { type SignatureVerifier } from "../../src/core/audit/SignatureVerifier.js";

/** A signer and the verifier that trusts its key: ES256 over the SHA-256 digest of the message. */
export function describeCheckpointSignerContract(
  label: string,
  factory: () => Promise<{ signer: CheckpointSigner; verifier: SignatureVerifier; cleanup?: () => Promise<void> }>,
): void {
  describe(`CheckpointSigner contract: ${label}`, () => {
    it("signs digests that the verifier accepts, and nothing else", async () => {
      const { signer, verifier, cleanup } = await factory();
      const message = Buffer.from("palisade-audit-checkpoint/v1\nchain\n10\n" + "ab".repeat(32) + "\n2026-01-01T00:00:00.000Z\n");
      const { keyId, signature } = await signer.sign(sha256(message));
      expect(signature.length).toBe(64);
      expect(keyId).not.toBe("");
      expect(await verifier.verify({ keyId, message, signature })).toBe(true);
      expect(await verifier.verify({ keyId, message: Buffer.concat([message, Buffer.from("x")]), signature })).toBe(false);
      const flipped = Buffer.from(signature);
      flipped[10] = (flipped[10] ?? 0) ^ 1;
      expect(await verifier.verify({ keyId, message, signature: flipped })).toBe(false);
      expect(await verifier.verify({ keyId: `${keyId}-unknown`, message, signature })).toBe(false);
      await expect(signer.sign(Buffer.alloc(20))).rejects.toThrow();
      await cleanup?.();
    });
  });
}
