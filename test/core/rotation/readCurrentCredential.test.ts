import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { readCurrentCredential } from "../../../src/core/rotation/readCurrentCredential.js";
import { tagsForVersion, withStage } from "../../../src/core/rotation/managedCredential.js";
import { InMemorySecretStore } from "../../fakes/InMemorySecretStore.js";
import { DAY, HOUR, credentialFixture } from "./rotationFixture.js";

function setup() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const secrets = new InMemorySecretStore(clock);
  const credential = credentialFixture({ overlapInMs: HOUR });
  const put = async (value: string, stage: "current" | "previous" | "pending", expiresAtInMs = clock.nowInMs() + 60 * DAY) =>
    secrets.setSecret(credential.id, value, { tags: tagsForVersion(credential, { stage, slot: null, issuerKeyId: value, rotationId: "r" }), expiresAtInMs });
  return { clock, secrets, credential, put };
}

describe("readCurrentCredential", () => {
  it("returns the version tagged current, not the latest one (a pending version is newer)", async () => {
    const s = setup();
    await s.put("old", "current");
    s.clock.advance(1_000);
    await s.put("new", "pending");
    expect(await readCurrentCredential(s.secrets, s.credential.id, s.clock)).toMatchObject({ value: "old", stage: "current" });
  });

  it("picks the newest current while a promotion is half done", async () => {
    const s = setup();
    await s.put("old", "current");
    s.clock.advance(1_000);
    await s.put("new", "current");
    expect((await readCurrentCredential(s.secrets, s.credential.id, s.clock))?.value).toBe("new");
  });

  it("treats an expired current as expired, though the store still returns it, and falls back to previous only inside its overlap", async () => {
    const s = setup();
    const previous = await s.put("prev", "previous");
    await s.put("cur", "current", s.clock.nowInMs() + 10 * 60_000);
    s.clock.advance(30 * 60_000); // current expired; previous demoted 30 min ago, overlap 1 h
    expect(await readCurrentCredential(s.secrets, s.credential.id, s.clock)).toMatchObject({ value: "prev", stage: "previous", version: previous.version });
    s.clock.advance(31 * 60_000);
    expect(await readCurrentCredential(s.secrets, s.credential.id, s.clock)).toBeNull();
  });

  it("skips a disabled current and returns null when nothing is usable", async () => {
    const s = setup();
    const current = await s.put("cur", "current");
    await s.secrets.updateSecretProperties(s.credential.id, current.version, { enabled: false, tags: withStage(current.tags, "current") });
    expect(await readCurrentCredential(s.secrets, s.credential.id, s.clock)).toBeNull();
    expect(await readCurrentCredential(s.secrets, "no-such-secret", s.clock)).toBeNull();
  });
});
