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

    it("returns the owner recorded for an id (project, model, endpoint), and keeps ids apart", async () => {
      const owners = await factory();
      const [first, second] = [freshId(), freshId()];
      await owners.record(first, { projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-chat" });
      await owners.record(second, { projectId: "open" });
      await expect(owners.ownerOf(first)).resolves.toEqual({ projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-chat" });
      await expect(owners.ownerOf(second)).resolves.toEqual({ projectId: "open" });
    });

    it("keeps the first record: a repeat, even naming another project, changes nothing", async () => {
      const owners = await factory();
      const id = freshId();
      await owners.record(id, { projectId: "acme", endpointId: "eu-chat" });
      await owners.record(id, { projectId: "acme", endpointId: "eu-zdr" });
      await owners.record(id, { projectId: "intruder" });
      await expect(owners.ownerOf(id)).resolves.toEqual({ projectId: "acme", endpointId: "eu-chat" });
    });

    it("forgets an id (then knows no owner, and a new record stands); forgetting an id never recorded succeeds", async () => {
      const owners = await factory();
      const [id, other] = [freshId(), freshId()];
      await owners.record(id, { projectId: "acme" });
      await owners.record(other, { projectId: "acme" });
      await owners.forget(id);
      await expect(owners.ownerOf(id)).resolves.toBeNull();
      await expect(owners.ownerOf(other)).resolves.toEqual({ projectId: "acme" });
      await owners.forget(freshId());
      await owners.record(id, { projectId: "open" });
      await expect(owners.ownerOf(id)).resolves.toEqual({ projectId: "open" });
    });

    it("takes ids with characters a table key may not hold, and tells ids that differ only in case apart", async () => {
      const owners = await factory();
      const odd = `${freshId()}/#?\\ü`;
      await owners.record(odd, { projectId: "acme" });
      await expect(owners.ownerOf(odd)).resolves.toEqual({ projectId: "acme" });
      await expect(owners.ownerOf(odd.toUpperCase())).resolves.toBeNull();
    });
  });
}
