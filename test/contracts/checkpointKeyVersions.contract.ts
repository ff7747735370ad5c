import { describe, expect, it } from "vitest";
import { type CheckpointKeyVersions } from "../../src/core/audit/CheckpointSigner.js";
import { sha256 } from "../../src/core/audit/hashing.js";
import { PublicKeySignatureVerifier } from "../../src/core/audit/PublicKeySignatureVerifier.js";

export interface CheckpointKeyVersionsFixture {
  readonly keys: CheckpointKeyVersions;
  /** A versioned id of ANOTHER key (same vault or store): never a version of this one. */
  readonly foreignKeyId: string;
  readonly cleanup?: () => Promise<void>;
}

/** The versions of the checkpoint key that pinned trust (CheckpointKeyTrust) signs with, pins and rotates. */
export function describeCheckpointKeyVersionsContract(label: string, factory: () => Promise<CheckpointKeyVersionsFixture>): void {
  describe(`CheckpointKeyVersions contract: ${label}`, () => {
    const verifies = async (keys: CheckpointKeyVersions, keyId: string, message: Buffer): Promise<boolean> => {
      const jwk = await keys.publicKey(keyId);
      if (jwk === null) return false;
      const signature = await keys.signWith(keyId, sha256(message));
      return new PublicKeySignatureVerifier({ [keyId]: jwk }).verify({ keyId, message, signature });
    };

    it("the current version has a P-256 public key, and what it signs verifies with that key only", async () => {
      const { keys, cleanup } = await factory();
      const keyId = await keys.currentKeyId();
      expect(keyId).not.toBe("");
      expect(await keys.publicKey(keyId)).toMatchObject({ kty: "EC", crv: "P-256" });
      const message = Buffer.from("palisade-audit-checkpoint/v1\ncontract\n");
      expect(await verifies(keys, keyId, message)).toBe(true);
      const signature = await keys.signWith(keyId, sha256(message));
      const jwk = await keys.publicKey(keyId);
      const verifier = new PublicKeySignatureVerifier({ [keyId]: jwk! });
      expect(await verifier.verify({ keyId, message: Buffer.concat([message, Buffer.from("!")]), signature })).toBe(false);
      await expect(keys.signWith(keyId, Buffer.alloc(20))).rejects.toThrow();
      await cleanup?.();
    });

    it("a new version becomes current, has its own key, and the old version still signs and verifies", async () => {
      const { keys, cleanup } = await factory();
      const before = await keys.currentKeyId();
      const created = await keys.createVersion();
      expect(created).not.toBe(before);
      expect(await keys.currentKeyId()).toBe(created);
      const [oldJwk, newJwk] = await Promise.all([keys.publicKey(before), keys.publicKey(created)]);
      expect(newJwk).toMatchObject({ kty: "EC", crv: "P-256" });
      expect(newJwk?.x).not.toBe(oldJwk?.x);
      const message = Buffer.from("pin the next version");
      expect(await verifies(keys, before, message)).toBe(true);
      expect(await verifies(keys, created, message)).toBe(true);
      // A signature by one version does not verify under the other's key.
      const byOld = await keys.signWith(before, sha256(message));
      expect(await new PublicKeySignatureVerifier({ [created]: newJwk! }).verify({ keyId: created, message, signature: byOld })).toBe(false);
      await cleanup?.();
    });

    it("a key id that is not a version of this key has no public key, cannot sign and has no expiry", async () => {
      const { keys, foreignKeyId, cleanup } = await factory();
      expect(await keys.publicKey(foreignKeyId)).toBeNull();
      await expect(keys.signWith(foreignKeyId, sha256(Buffer.from("x")))).rejects.toThrow();
      await expect(keys.expiresAt(foreignKeyId)).rejects.toThrow(/not a version/);
      const current = await keys.currentKeyId();
      const expiry = await keys.expiresAt(current);
      expect(expiry === null || Number.isFinite(expiry)).toBe(true);
      await cleanup?.();
    });
  });
}
