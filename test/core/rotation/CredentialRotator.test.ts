import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { type RotationCheckpoint } from "../../../src/core/rotation/CredentialRotator.js";
import { readCurrentCredential } from "../../../src/core/rotation/readCurrentCredential.js";
import { InMemoryCredentialIssuer } from "../../fakes/InMemoryCredentialIssuer.js";
import { InMemoryRotationStateStore } from "../../fakes/InMemoryRotationStateStore.js";
import { InMemorySecretStore } from "../../fakes/InMemorySecretStore.js";
import { DAY, HOUR, credentialFixture, enabledStages, rotationWorld } from "./rotationFixture.js";

function world(options: { slots?: readonly string[]; localOffsetInMs?: number } = {}) {
  const serverClock = new ManualClock(Date.UTC(2026, 0, 1));
  const issuer = new InMemoryCredentialIssuer(options.slots === undefined ? {} : { kind: "azure-openai", slots: options.slots });
  const w = rotationWorld({
    secrets: new InMemorySecretStore(serverClock),
    states: new InMemoryRotationStateStore(serverClock),
    issuer,
    localClock: new ManualClock(serverClock.nowInMs() + (options.localOffsetInMs ?? 0)),
  });
  /** Time passes for everyone: the services and the local clock alike. */
  const pass = (ms: number): void => {
    serverClock.advance(ms);
    w.localClock.advance(ms);
  };
  return { ...w, issuer, serverClock, pass };
}

describe("CredentialRotator (fakes)", () => {
  it("does nothing before the rotation period is over", async () => {
    const w = world();
    const credential = credentialFixture();
    await w.register(credential);
    const outcome = await w.rotator().rotate(credential.id);
    expect(outcome.status).toBe("not_due");
    expect(w.issuer.mints).toBe(1); // the registration only
  });

  it("rotates a due credential: pending -> current, previous kept through the overlap, then revoked and disabled", async () => {
    const w = world();
    const credential = credentialFixture({ rotationPeriodInDays: 30, overlapInMs: 2 * HOUR });
    await w.register(credential);
    const first = await readCurrentCredential(w.secrets, credential.id, w.localClock);
    w.pass(31 * DAY);

    const draining = await w.rotator().rotate(credential.id);
    expect(draining.status).toBe("draining");
    const second = await readCurrentCredential(w.secrets, credential.id, w.localClock);
    expect(second?.value).not.toBe(first?.value);
    expect(await w.issuer.verify(credential, first?.value ?? "")).toBe(true); // still valid upstream
    expect(enabledStages(await w.versions(credential.id))).toEqual(["current", "previous"]);

    w.pass(HOUR);
    expect((await w.rotator().rotate(credential.id)).status).toBe("draining");
    w.pass(HOUR);
    const done = await w.rotator().rotate(credential.id);
    expect(done.status).toBe("completed");
    expect(await w.issuer.verify(credential, first?.value ?? "")).toBe(false);
    expect(await w.issuer.verify(credential, second?.value ?? "")).toBe(true);
    const versions = await w.versions(credential.id);
    expect(enabledStages(versions)).toEqual(["current"]);
    expect(versions.map((v) => v.stage).sort()).toEqual(["current", "retired"]);
    expect(w.audit.published.map((e) => e.type)).toEqual(["key_created", "key_created", "key_rotated", "key_revoked"]);
    for (const event of w.audit.published) {
      expect(JSON.stringify(event)).not.toContain(first?.value ?? "###");
      expect(JSON.stringify(event)).not.toContain(second?.value ?? "###");
    }
    expect((await w.states.get(credential.id))?.state).toMatchObject({ step: "idle", lastOutcome: "completed" });
    // Not due again until another period has passed.
    expect((await w.rotator().rotate(credential.id)).status).toBe("not_due");
  });

  const checkpoints: RotationCheckpoint[] = ["begun", "minted", "stored", "verified", "promoted", "demoted", "revoked", "retired"];
  it.each(checkpoints)("resumes after a crash at %s and ends with exactly one current", async (crashAt) => {
    const w = world();
    const credential = credentialFixture();
    await w.register(credential);
    const original = await readCurrentCredential(w.secrets, credential.id, w.localClock);
    let crashed = false;
    const crashing = w.rotator({
      afterStep: (checkpoint) => {
        if (checkpoint === crashAt && !crashed) {
          crashed = true;
          throw new Error(`crash at ${checkpoint}`);
        }
      },
    });
    let result = await crashing.rotate(credential.id, { force: true }).then(
      (outcome) => outcome.status,
      (error: unknown) => (error instanceof Error ? error.message : "?"),
    );
    if (result === "draining") {
      w.pass(2 * HOUR);
      result = await crashing.rotate(credential.id).then(
        (outcome) => outcome.status,
        (error: unknown) => (error instanceof Error ? error.message : "?"),
      );
    }
    expect(crashed).toBe(true);
    expect(result).toBe(`crash at ${crashAt}`);

    // The reader never lost a working credential while the rotation was broken off.
    const during = await readCurrentCredential(w.secrets, credential.id, w.localClock);
    expect(await w.issuer.verify(credential, during?.value ?? "")).toBe(true);

    let outcome = await w.rotator().rotate(credential.id);
    if (outcome.status === "draining") {
      w.pass(2 * HOUR);
      outcome = await w.rotator().rotate(credential.id);
    }
    expect(outcome.status).toBe("completed");
    const versions = await w.versions(credential.id);
    expect(enabledStages(versions)).toEqual(["current"]);
    const current = await readCurrentCredential(w.secrets, credential.id, w.localClock);
    expect(current?.value).not.toBe(original?.value);
    expect(await w.issuer.verify(credential, current?.value ?? "")).toBe(true);
    expect(await w.issuer.verify(credential, original?.value ?? "")).toBe(false);
    // Steps repeated after the crash publish the same event ids: the ledger keeps one of each.
    const rotationEvents = w.audit.published.filter((e) => e.details?.rotationId === outcome.rotationId);
    expect(new Set(rotationEvents.map((e) => e.type))).toEqual(new Set(["key_created", "key_rotated", "key_revoked"]));
    expect(new Set(rotationEvents.map((e) => e.eventId)).size).toBe(3);
  });

  it("rolls back when the new credential fails verification, keeps the current one and alerts", async () => {
    const w = world();
    const credential = credentialFixture();
    await w.register(credential);
    const before = await readCurrentCredential(w.secrets, credential.id, w.localClock);
    w.issuer.refuseVerification = true;
    const outcome = await w.rotator().rotate(credential.id, { force: true });
    expect(outcome).toMatchObject({ status: "rolled_back", reason: "verification_failed", step: "idle" });
    expect((await readCurrentCredential(w.secrets, credential.id, w.localClock))?.version).toBe(before?.version);
    const versions = await w.versions(credential.id);
    expect(enabledStages(versions)).toEqual(["current"]);
    expect(versions.find((v) => v.stage === "failed")?.enabled).toBe(false);
    expect(w.issuer.revokes).toBe(1);
    w.issuer.refuseVerification = false;
    expect(await w.issuer.verify(credential, before?.value ?? "")).toBe(true);
    const failed = w.audit.published.find((e) => e.type === "rotation_failed");
    expect(failed).toMatchObject({ status: "error", reason: "verification_failed", project: "billing" });
    expect(w.logger.lines.some((line) => line.level === "error" && line.message.includes("rolled back"))).toBe(true);
    expect((await w.states.get(credential.id))?.state).toMatchObject({ lastOutcome: "rolled_back" });
  });

  it("leaves the rotation at `stored` when the verifier cannot be reached, and retries it next run", async () => {
    const w = world();
    const credential = credentialFixture();
    await w.register(credential);
    w.issuer.verifyUnavailable = true;
    await expect(w.rotator().rotate(credential.id, { force: true })).rejects.toThrow("issuer unavailable");
    expect((await w.states.get(credential.id))?.state.step).toBe("stored");
    w.issuer.verifyUnavailable = false;
    expect((await w.rotator().rotate(credential.id)).status).toBe("draining");
  });

  it("lets one of two simultaneous rotations proceed; the other stops", async () => {
    const w = world();
    const credential = credentialFixture();
    await w.register(credential);
    const outcomes = await Promise.all([w.rotator({ leaseInMs: 60_000 }).rotate(credential.id, { force: true }), w.rotator({ leaseInMs: 60_000 }).rotate(credential.id, { force: true })]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(["busy", "draining"]);
    expect(w.issuer.mints).toBe(2); // registration + one rotation
    expect((await w.versions(credential.id)).filter((v) => v.stage === "current")).toHaveLength(1);
  });

  it("does not resume a rotation whose lease another run still holds", async () => {
    const w = world();
    const credential = credentialFixture();
    await w.register(credential);
    const crashing = w.rotator({
      leaseInMs: 60_000,
      afterStep: (checkpoint) => {
        if (checkpoint === "stored") throw new Error("crash");
      },
    });
    await expect(crashing.rotate(credential.id, { force: true })).rejects.toThrow("crash");
    expect((await w.rotator({ leaseInMs: 60_000 }).rotate(credential.id)).status).toBe("busy");
    w.localClock.advance(61_000);
    expect((await w.rotator({ leaseInMs: 60_000 }).rotate(credential.id)).status).toBe("draining");
  });

  it.each([
    ["far ahead", 400 * DAY],
    ["far behind", -400 * DAY],
  ])("does not end the overlap early with the local clock %s", async (_label, offset) => {
    const w = world();
    const credential = credentialFixture();
    await w.register(credential);
    const first = await readCurrentCredential(w.secrets, credential.id, w.localClock);
    expect((await w.rotator().rotate(credential.id, { force: true })).status).toBe("draining");
    w.localClock.advance(offset);
    const outcome = await w.rotator().rotate(credential.id);
    expect(outcome.status).toBe("draining");
    expect(await w.issuer.verify(credential, first?.value ?? "")).toBe(true);
    w.serverClock.advance(HOUR);
    expect((await w.rotator().rotate(credential.id)).status).toBe("completed");
    expect(await w.issuer.verify(credential, first?.value ?? "")).toBe(false);
  });

  it("regenerates only the slot not in use, and revokes the old slot after the overlap", async () => {
    const w = world({ slots: ["Key1", "Key2"] });
    const credential = credentialFixture({ issuer: "azure-openai", deployment: "gpt-4o", target: "/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/a" });
    const key1 = w.issuer.valueOf("Key1") ?? "";
    await w.register(credential, { value: key1, issuerKeyId: "Key1", slot: "Key1" });
    expect((await w.rotator().rotate(credential.id, { force: true })).status).toBe("draining");
    expect(w.issuer.valueOf("Key1")).toBe(key1); // the slot in use was not touched
    const current = await readCurrentCredential(w.secrets, credential.id, w.localClock);
    expect(current?.value).toBe(w.issuer.valueOf("Key2"));
    w.pass(2 * HOUR);
    expect((await w.rotator().rotate(credential.id)).status).toBe("completed");
    expect(w.issuer.valueOf("Key1")).not.toBe(key1);
    // The next rotation goes back to Key1.
    expect((await w.rotator().rotate(credential.id, { force: true })).status).toBe("draining");
    expect((await readCurrentCredential(w.secrets, credential.id, w.localClock))?.value).toBe(w.issuer.valueOf("Key1"));
  });

  it("keeps every read working while a rotation runs step by step (availability probe)", async () => {
    const w = world({ slots: ["Key1", "Key2"] });
    const credential = credentialFixture({ issuer: "azure-openai", deployment: "gpt-4o" });
    await w.register(credential, { value: w.issuer.valueOf("Key1") ?? "", issuerKeyId: "Key1", slot: "Key1" });
    let probes = 0;
    let failures = 0;
    const probe = async (): Promise<void> => {
      for (let i = 0; i < 3; i += 1) {
        probes += 1;
        const read = await readCurrentCredential(w.secrets, credential.id, w.localClock);
        if (read === null || !(await w.issuer.verify(credential, read.value))) failures += 1;
      }
    };
    const rotator = w.rotator({ afterStep: probe });
    await probe();
    expect((await rotator.rotate(credential.id, { force: true })).status).toBe("draining");
    await probe();
    w.pass(2 * HOUR);
    await probe();
    expect((await rotator.rotate(credential.id)).status).toBe("completed");
    await probe();
    expect(probes).toBeGreaterThan(20);
    expect(failures).toBe(0);
  });

  it("rotateDue visits every managed credential and skips other secrets", async () => {
    const w = world();
    const due = credentialFixture();
    const fresh = credentialFixture();
    await w.register(due);
    await w.secrets.setSecret("unrelated-secret", "x", { tags: { purpose: "other" } });
    w.pass(31 * DAY);
    await w.register(fresh);
    const outcomes = await w.rotator().rotateDue();
    expect(Object.fromEntries(outcomes.map((o) => [o.credentialId, o.status]))).toEqual({ [due.id]: "draining", [fresh.id]: "not_due" });
  });
});
