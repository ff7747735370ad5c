import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type StoredResponseOwners } from "../../src/core/gateway/operations/responses/StoredResponseOwners.js";

/** A fresh id per test, so suites sharing one table never collide. */
const freshId = (): string => `resp_${randomBytes(12).toString("hex")}`;

export function describeStoredResponseOwnersContract(label: string, factory: () => Promise<StoredResponseOwners>): void {
  describe(`StoredResponseOwners contract: ${label}`, () => {
    it("knows no owner for an id never recorded", async () => {
      const owners = await factory();
      await expect(owners.ownerOf(freshId())).resolves.toBeNull();
    });

    it("returns the project recorded for an id, and keeps ids apart", async () => {
      const owners = await factory();
      const [first, second] = [freshId(), freshId()];
      await owners.record(first, "acme");
      await owners.record(second, "open");
      await expect(owners.ownerOf(first)).resolves.toBe("acme");
      await expect(owners.ownerOf(second)).resolves.toBe("open");
    });

    it("keeps the first record: a repeat, even naming another project, changes nothing", async () => {
      const owners = await factory();
      const id = freshId();
      await owners.record(id, "acme");
      await owners.record(id, "acme");
      await owners.record(id, "intruder");
      await expect(owners.ownerOf(id)).resolves.toBe("acme");
    });

    it("takes ids with characters a table key may not hold, and tells ids that differ only in case apart", async () => {
      const owners = await factory();
      const odd = `${freshId()}/#?\\ü`;
      await owners.record(odd, "acme");
      await expect(owners.ownerOf(odd)).resolves.toBe("acme");
      await expect(owners.ownerOf(odd.toUpperCase())).resolves.toBeNull();
    });
  });
}
