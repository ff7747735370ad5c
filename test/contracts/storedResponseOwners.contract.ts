import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { type StoredResponseOwners, type StoredResponseOwnersOptions } from "../../src/core/gateway/operations/responses/StoredResponseOwners.js";

/** A fresh id per test, so suites sharing one table never collide. */
const freshId = (): string => `resp_${randomBytes(12).toString("hex")}`;

const DAY_IN_MS = 86_400_000;
const MINUTE_IN_MS = 60_000;
const RETENTION_IN_MS = 30 * DAY_IN_MS;

/**
 * `factory` builds owners over an empty store with these options. The clock starts at the real time:
 * the Table adapter dates a record by its row's Timestamp, which the storage service sets.
 */
export function describeStoredResponseOwnersContract(label: string, factory: (options: StoredResponseOwnersOptions) => Promise<StoredResponseOwners>): void {
  const start = async (): Promise<{ owners: StoredResponseOwners; clock: ManualClock }> => {
    const clock = new ManualClock(Date.now());
    return { owners: await factory({ clock, retentionInMs: RETENTION_IN_MS }), clock };
  };

  describe(`StoredResponseOwners contract: ${label}`, () => {
    it("knows no owner for an id never recorded", async () => {
      const { owners } = await start();
      await expect(owners.ownerOf(freshId())).resolves.toBeNull();
    });

    it("returns the owner recorded for an id (project, model, endpoint), and keeps ids apart", async () => {
      const { owners } = await start();
      const [first, second] = [freshId(), freshId()];
      await owners.record(first, { projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-chat" });
      await owners.record(second, { projectId: "open" });
      await expect(owners.ownerOf(first)).resolves.toEqual({ projectId: "acme", model: "gpt-4o-mini", endpointId: "eu-chat" });
      await expect(owners.ownerOf(second)).resolves.toEqual({ projectId: "open" });
    });

    it("keeps the first record: a repeat, even naming another project, changes nothing", async () => {
      const { owners } = await start();
      const id = freshId();
      await owners.record(id, { projectId: "acme", endpointId: "eu-chat" });
      await owners.record(id, { projectId: "acme", endpointId: "eu-zdr" });
      await owners.record(id, { projectId: "intruder" });
      await expect(owners.ownerOf(id)).resolves.toEqual({ projectId: "acme", endpointId: "eu-chat" });
    });

    it("forgets an id (then knows no owner, and a new record stands); forgetting an id never recorded succeeds", async () => {
      const { owners } = await start();
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
      const { owners } = await start();
      const odd = `${freshId()}/#?\\ü`;
      await owners.record(odd, { projectId: "acme" });
      await expect(owners.ownerOf(odd)).resolves.toEqual({ projectId: "acme" });
      await expect(owners.ownerOf(odd.toUpperCase())).resolves.toBeNull();
    });

    it("knows the owner until the retention is over, and none after it (expired is absent)", async () => {
      const { owners, clock } = await start();
      const id = freshId();
      await owners.record(id, { projectId: "acme" });
      clock.advance(RETENTION_IN_MS - MINUTE_IN_MS);
      await expect(owners.ownerOf(id)).resolves.toEqual({ projectId: "acme" });
      clock.advance(2 * MINUTE_IN_MS);
      await expect(owners.ownerOf(id)).resolves.toBeNull();
    });

    it("purges expired records only, at most maxRows a run, and reports how many it deleted", async () => {
      const { owners, clock } = await start();
      const [old1, old2, old3, recent] = [freshId(), freshId(), freshId(), freshId()];
      for (const id of [old1, old2, old3]) await owners.record(id, { projectId: "acme" });
      const madeAtInMs = clock.nowInMs();
      clock.advance(DAY_IN_MS);
      await owners.record(recent, { projectId: "acme" });
      clock.advance(RETENTION_IN_MS - DAY_IN_MS + MINUTE_IN_MS);

      await expect(owners.purgeExpired({ maxRows: 0 })).resolves.toBe(0);
      await expect(owners.purgeExpired({ maxRows: 2 })).resolves.toBe(2);
      await expect(owners.purgeExpired({ maxRows: 100 })).resolves.toBe(1);
      await expect(owners.purgeExpired({ maxRows: 100 })).resolves.toBe(0);
      await expect(owners.ownerOf(recent)).resolves.toEqual({ projectId: "acme" });

      // Back before they expired: the purged records are gone, not merely read as expired.
      clock.set(madeAtInMs + MINUTE_IN_MS);
      for (const id of [old1, old2, old3]) await expect(owners.ownerOf(id)).resolves.toBeNull();
      await expect(owners.ownerOf(recent)).resolves.toEqual({ projectId: "acme" });
    });

    it("purges many records over several expiry days in bounded runs, each day once it ends, keeping the live ones", async () => {
      const { owners, clock } = await start();
      const days = [0, 1, 2].map(() => Array.from({ length: 30 }, freshId));
      for (const [day, ids] of days.entries()) {
        for (const id of ids) await owners.record(id, { projectId: "acme" });
        if (day < 2) clock.advance(DAY_IN_MS);
      }
      // Day 0's records expired a minute ago, day 1's and 2's are live.
      clock.advance(RETENTION_IN_MS - 2 * DAY_IN_MS + MINUTE_IN_MS);
      const runs: number[] = [];
      for (let run = 0; run < 4; run += 1) runs.push(await owners.purgeExpired({ maxRows: 12 }));
      expect(runs).toEqual([12, 12, 6, 0]);
      for (const id of [...(days[1] ?? []), ...(days[2] ?? [])]) await expect(owners.ownerOf(id)).resolves.toEqual({ projectId: "acme" });
      clock.advance(2 * DAY_IN_MS);
      await expect(owners.purgeExpired({ maxRows: 100 })).resolves.toBe(60);
      for (const id of days.flat()) await expect(owners.ownerOf(id)).resolves.toBeNull();
    });
  });
}
