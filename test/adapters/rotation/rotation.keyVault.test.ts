import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { type RunningKeyVaultEmulator, startKeyVaultEmulator } from "../../../local/keyvault/index.js";
import { type RunningMockArm, startMockArm } from "../../../local/mockArm/index.js";
import { AzureOpenAiKeyIssuer } from "../../../src/adapters/issuers/AzureOpenAiKeyIssuer.js";
import { createCredential } from "../../../src/adapters/identity/createCredential.js";
import { KeyVaultSecretStore } from "../../../src/adapters/keyvault/KeyVaultSecretStore.js";
import { ROTATION_STATE_TABLE, TableRotationStateStore } from "../../../src/adapters/tables/TableRotationStateStore.js";
import { type Clock, ManualClock } from "../../../src/core/clock.js";
import { type RotationCheckpoint, type RotationOutcome } from "../../../src/core/rotation/CredentialRotator.js";
import { type ManagedCredential } from "../../../src/core/rotation/managedCredential.js";
import { readCurrentCredential } from "../../../src/core/rotation/readCurrentCredential.js";
import { DAY, credentialFixture, enabledStages, rotationWorld } from "../../core/rotation/rotationFixture.js";

/**
 * The proof on the real SDKs: KeyVaultSecretStore against the Key Vault emulator, TableRotationStateStore
 * against Azurite, the Azure OpenAI issuer against the mock ARM. Overlap 1 s: every timestamp that ends
 * it comes from Key Vault and Table Storage.
 */
let keyVault: RunningKeyVaultEmulator;
let azurite: RunningAzurite;
let arm: RunningMockArm;
const systemClock: Clock = { nowInMs: () => Date.now() };

beforeAll(async () => {
  [keyVault, azurite, arm] = await Promise.all([startKeyVaultEmulator(), startAzurite(), startMockArm()]);
});
afterAll(async () => {
  await Promise.all([keyVault?.stop(), azurite?.stop(), arm?.stop()]);
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function stack(localClock: ManualClock = new ManualClock(Date.now())) {
  const secrets = KeyVaultSecretStore.fromVaultUrl(keyVault.vaultUrl, createCredential({ local: true }), { caCertPem: keyVault.caCertPem });
  const states = new TableRotationStateStore(TableClient.fromConnectionString(azurite.connectionString, ROTATION_STATE_TABLE, { allowInsecureConnection: true }));
  const issuer = new AzureOpenAiKeyIssuer({ credential: createCredential({ local: true }), armBaseUrl: arm.url, verifyAttempts: 1 });
  const world = rotationWorld({ secrets, states, issuer, localClock });
  const account = arm.addAccount({ subscription: "sub-1", resourceGroup: "rg-ai", name: `aoai-${Math.random().toString(36).slice(2, 8)}`, deployments: ["gpt-4o"] });
  const credential: ManagedCredential = credentialFixture({ issuer: "azure-openai", target: account.resourceId, deployment: "gpt-4o", overlapInMs: 1_000 });
  const registerKey1 = async (): Promise<void> => {
    const keys = arm.keysOf(account.resourceId);
    await world.register(credential, { value: keys?.key1 ?? "", issuerKeyId: "Key1", slot: "Key1" });
  };
  /** One read through the gateway's path and a real call with what it read. */
  const probe = async (): Promise<boolean> => {
    const read = await readCurrentCredential(secrets, credential.id, systemClock);
    return read !== null && (await issuer.verify(credential, read.value));
  };
  /** Runs until the rotation is no longer draining (waiting out the 1 s overlap in service time). */
  const finish = async (rotate: () => Promise<RotationOutcome>): Promise<RotationOutcome> => {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const outcome = await rotate();
      if (outcome.status !== "draining") return outcome;
      await sleep(300);
    }
    throw new Error("still draining after 20 attempts");
  };
  return { ...world, issuer, credential, account, registerKey1, probe, finish };
}

describe("rotation on Key Vault (emulator), Table Storage (Azurite) and ARM (mock)", () => {
  it("runs a full rotation with zero failed reads (availability probe)", async () => {
    const s = stack();
    await s.registerKey1();
    const oldKey1 = arm.keysOf(s.account.resourceId)?.key1;
    let probes = 0;
    let failures = 0;
    const probeMany = async (): Promise<void> => {
      for (let i = 0; i < 3; i += 1) {
        probes += 1;
        if (!(await s.probe())) failures += 1;
      }
    };
    const rotator = s.rotator({ afterStep: probeMany });
    const outcome = await s.finish(async () => {
      await probeMany();
      return rotator.rotate(s.credential.id, { force: true });
    });
    await probeMany();
    expect(outcome.status).toBe("completed");
    expect(probes).toBeGreaterThan(25);
    expect(failures).toBe(0);
    const versions = await s.versions(s.credential.id);
    expect(enabledStages(versions)).toEqual(["current"]);
    expect(versions.find((v) => v.stage === "current")?.slot).toBe("Key2");
    expect(versions.find((v) => v.stage === "retired")?.enabled).toBe(false);
    expect(arm.keysOf(s.account.resourceId)?.key1).not.toBe(oldKey1); // the old slot was revoked by regeneration
    expect(s.audit.published.map((e) => e.type)).toEqual(["key_created", "key_created", "key_rotated", "key_revoked"]);
  });

  const checkpoints: RotationCheckpoint[] = ["begun", "minted", "stored", "verified", "promoted", "demoted", "revoked", "retired"];
  it("resumes after a crash at every step and ends with exactly one current", async () => {
    for (const crashAt of checkpoints) {
      const s = stack();
      await s.registerKey1();
      let crashed = false;
      const crashing = s.rotator({
        afterStep: (checkpoint) => {
          if (checkpoint === crashAt && !crashed) {
            crashed = true;
            throw new Error(`crash at ${checkpoint}`);
          }
        },
      });
      const first = await s.finish(() => crashing.rotate(s.credential.id, { force: true })).then(
        (outcome) => outcome.status,
        (error: unknown) => (error instanceof Error ? error.message : "?"),
      );
      expect(first, crashAt).toBe(`crash at ${crashAt}`);
      expect(await s.probe(), `reader after crash at ${crashAt}`).toBe(true);
      const resumed = await s.finish(() => s.rotator().rotate(s.credential.id));
      expect(resumed.status, crashAt).toBe("completed");
      const versions = await s.versions(s.credential.id);
      expect(enabledStages(versions), crashAt).toEqual(["current"]);
      expect(await s.probe(), crashAt).toBe(true);
    }
  });

  it("rolls back a credential that fails verification and keeps the current one", async () => {
    const s = stack();
    await s.registerKey1();
    const before = await readCurrentCredential(s.secrets, s.credential.id, systemClock);
    const refusing = new AzureOpenAiKeyIssuer({ credential: createCredential({ local: true }), armBaseUrl: arm.url, verify: async () => false, verifyAttempts: 1 });
    const rotator = s.rotator({ issuers: { "azure-openai": refusing } });
    const outcome = await rotator.rotate(s.credential.id, { force: true });
    expect(outcome).toMatchObject({ status: "rolled_back", reason: "verification_failed" });
    const after = await readCurrentCredential(s.secrets, s.credential.id, systemClock);
    expect(after?.version).toBe(before?.version);
    expect(await s.probe()).toBe(true);
    const versions = await s.versions(s.credential.id);
    expect(enabledStages(versions)).toEqual(["current"]);
    expect(versions.find((v) => v.stage === "failed")).toMatchObject({ enabled: false, slot: "Key2" });
    expect(s.audit.published.find((e) => e.type === "rotation_failed")).toMatchObject({ status: "error", reason: "verification_failed" });
  });

  it("lets exactly one of two concurrent rotations proceed", async () => {
    const s = stack();
    await s.registerKey1();
    const outcomes = await Promise.all([s.rotator({ leaseInMs: 60_000 }).rotate(s.credential.id, { force: true }), s.rotator({ leaseInMs: 60_000 }).rotate(s.credential.id, { force: true })]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(["busy", "draining"]);
    expect(arm.calls.regenerate.filter((slot) => slot === "Key2").length).toBeGreaterThan(0);
    const versions = await s.versions(s.credential.id);
    expect(versions.filter((v) => v.stage === "current")).toHaveLength(1);
    expect(versions.filter((v) => v.stage === "pending")).toHaveLength(0);
  });

  it.each([
    ["far ahead", 365 * DAY],
    ["far behind", -365 * DAY],
  ])("does not end the overlap early with the local clock %s", async (_label, offset) => {
    const localClock = new ManualClock(Date.now());
    const s = stack(localClock);
    const slow = { ...s.credential, overlapInMs: 3_000 };
    const keys = arm.keysOf(s.account.resourceId);
    await s.register(slow, { value: keys?.key1 ?? "", issuerKeyId: "Key1", slot: "Key1" });
    expect((await s.rotator().rotate(slow.id, { force: true })).status).toBe("draining");
    localClock.advance(offset);
    const again = await s.rotator().rotate(slow.id);
    expect(again.status).toBe("draining");
    expect(arm.keysOf(s.account.resourceId)?.key1).toBe(keys?.key1); // the previous key still works upstream
    const done = await s.finish(() => s.rotator().rotate(slow.id));
    expect(done.status).toBe("completed");
    expect(arm.keysOf(s.account.resourceId)?.key1).not.toBe(keys?.key1);
  });
});
