import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CredentialIssuer } from "../../src/core/rotation/CredentialIssuer.js";
import type { ManagedCredential } from "../../src/core/rotation/managedCredential.js";

export interface CredentialIssuerUnderTest {
  readonly issuer: CredentialIssuer;
  readonly credential: ManagedCredential;
  /** True for issuers with key slots (Azure OpenAI): a mint must avoid the slots in use. */
  readonly slotted: boolean;
  stop?(): Promise<void>;
}

const DAY = 86_400_000;

/** The behaviour every CredentialIssuer has: against the fake and each real issuer on its local mock. */
export function describeCredentialIssuerContract(label: string, factory: () => Promise<CredentialIssuerUnderTest>): void {
  describe(`CredentialIssuer contract: ${label}`, () => {
    let subject: CredentialIssuerUnderTest;
    const rotationId = (): string => `rot-${randomBytes(4).toString("hex")}`;
    const context = (slotsInUse: readonly string[] = []) => ({ rotationId: rotationId(), slotsInUse, expiresAtInMs: Date.now() + 60 * DAY });

    beforeAll(async () => {
      subject = await factory();
    });
    afterAll(async () => {
      await subject.stop?.();
    });

    it("mints a value that a real call accepts, with a non-secret handle", async () => {
      const minted = await subject.issuer.mint(subject.credential, context());
      expect(minted.value.length).toBeGreaterThan(8);
      expect(minted.issuerKeyId).not.toContain(minted.value);
      expect(await subject.issuer.verify(subject.credential, minted.value)).toBe(true);
    });

    it("refuses a value it never issued", async () => {
      expect(await subject.issuer.verify(subject.credential, `never-issued-${randomBytes(8).toString("hex")}`)).toBe(false);
    });

    it("revokes: the value stops working; revoking again succeeds", async () => {
      const minted = await subject.issuer.mint(subject.credential, context());
      await subject.issuer.revoke(subject.credential, { issuerKeyId: minted.issuerKeyId, slot: minted.slot });
      expect(await subject.issuer.verify(subject.credential, minted.value)).toBe(false);
      await subject.issuer.revoke(subject.credential, { issuerKeyId: minted.issuerKeyId, slot: minted.slot });
    });

    it("keeps a value minted earlier working when a second one is minted around it", async () => {
      const first = await subject.issuer.mint(subject.credential, context());
      const second = await subject.issuer.mint(subject.credential, context(first.slot === null ? [] : [first.slot]));
      expect(second.value).not.toBe(first.value);
      expect(second.issuerKeyId).not.toBe(first.issuerKeyId);
      expect(await subject.issuer.verify(subject.credential, first.value)).toBe(true);
      expect(await subject.issuer.verify(subject.credential, second.value)).toBe(true);
      if (subject.slotted) expect(second.slot).not.toBe(first.slot);
      else expect(second.slot).toBeNull();
    });
  });
}
