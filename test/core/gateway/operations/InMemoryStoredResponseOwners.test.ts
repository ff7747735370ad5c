import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../src/core/clock.js";
import { InMemoryStoredResponseOwners } from "../../../../src/core/gateway/operations/responses/StoredResponseOwners.js";
import { describeStoredResponseOwnersContract } from "../../../contracts/storedResponseOwners.contract.js";

describeStoredResponseOwnersContract("InMemoryStoredResponseOwners", (options) => Promise.resolve(new InMemoryStoredResponseOwners(options)));

describe("InMemoryStoredResponseOwners specifics", () => {
  it("forgets the oldest record past its capacity", async () => {
    const owners = new InMemoryStoredResponseOwners({ clock: new ManualClock(), retentionInMs: 60_000 }, 2);
    for (const id of ["resp_1", "resp_2", "resp_3"]) await owners.record(id, { projectId: "acme" });
    await expect(owners.ownerOf("resp_1")).resolves.toBeNull();
    await expect(owners.ownerOf("resp_3")).resolves.toEqual({ projectId: "acme" });
  });
});
