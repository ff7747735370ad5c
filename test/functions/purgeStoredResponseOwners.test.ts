import { InvocationContext } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { InMemoryStoredResponseOwners } from "../../src/core/gateway/operations/responses/StoredResponseOwners.js";
import { PURGE_MAX_ROWS, createPurgeStoredResponseOwnersHandler, definition } from "../../src/functions/purgeStoredResponseOwners.js";

const timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };
const context = (): InvocationContext => new InvocationContext({ invocationId: "i1", functionName: "purgeStoredResponseOwners" });

describe("purgeStoredResponseOwners function", () => {
  it("is a timer on %STORED_RESPONSE_OWNERS_PURGE_SCHEDULE%", () => {
    expect(definition.kind).toBe("timer");
    expect(definition.name).toBe("purgeStoredResponseOwners");
    expect(definition.options.schedule).toBe("%STORED_RESPONSE_OWNERS_PURGE_SCHEDULE%");
  });

  it("deletes the expired records, and keeps the others", async () => {
    const clock = new ManualClock();
    const owners = new InMemoryStoredResponseOwners({ clock, retentionInMs: 1_000 });
    await owners.record("resp_old", { projectId: "acme" });
    clock.advance(600);
    await owners.record("resp_new", { projectId: "acme" });
    clock.advance(600);
    const handler = createPurgeStoredResponseOwnersHandler(() => Promise.resolve(owners));
    await expect(handler(timer, context())).resolves.toBe(1);
    await expect(owners.ownerOf("resp_new")).resolves.toEqual({ projectId: "acme" });
  });

  it("is bounded: one run deletes at most PURGE_MAX_ROWS", async () => {
    const asked: number[] = [];
    const handler = createPurgeStoredResponseOwnersHandler(() => Promise.resolve({ purgeExpired: ({ maxRows }) => (asked.push(maxRows), Promise.resolve(maxRows)) }));
    await expect(handler(timer, context())).resolves.toBe(PURGE_MAX_ROWS);
    expect(asked).toEqual([PURGE_MAX_ROWS]);
  });
});
