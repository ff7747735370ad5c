import { randomBytes, randomUUID } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { createCredentialsCommand, type CredentialsCliServices } from "../../src/cli/commands/credentials.js";
import { startMockArm } from "../../local/mockArm/index.js";
import { AzureOpenAiKeyIssuer } from "../../src/adapters/issuers/AzureOpenAiKeyIssuer.js";
import { createCredential } from "../../src/adapters/identity/createCredential.js";
import { ApiKeyService } from "../../src/core/auth/ApiKeyService.js";
import { ManualClock } from "../../src/core/clock.js";
import { readCurrentCredential } from "../../src/core/rotation/readCurrentCredential.js";
import { InMemoryApiKeyStore } from "../fakes/InMemoryApiKeyStore.js";
import { InMemoryCredentialIssuer } from "../fakes/InMemoryCredentialIssuer.js";
import { InMemoryRotationStateStore } from "../fakes/InMemoryRotationStateStore.js";
import { InMemorySecretStore } from "../fakes/InMemorySecretStore.js";
import { DAY, HOUR, rotationWorld } from "../core/rotation/rotationFixture.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

function setup(options: { leaseInMs?: number } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const secrets = new InMemorySecretStore(clock);
  const issuer = new InMemoryCredentialIssuer({ kind: "openai" });
  const world = rotationWorld({ secrets, states: new InMemoryRotationStateStore(clock), issuer, localClock: clock });
  const apiKeys = new ApiKeyService({ store: new InMemoryApiKeyStore(), clock, random: (n) => new Uint8Array(randomBytes(n)) });
  const services: CredentialsCliServices = {
    secrets,
    apiKeys,
    rotator: world.rotator(options.leaseInMs === undefined ? {} : { leaseInMs: options.leaseInMs }),
    states: world.states,
    issuers: { openai: issuer },
    audit: world.audit,
    policyVersion: "p",
    newId: randomUUID,
  };
  const stdout = new Capture();
  const stderr = new Capture();
  let sleeps = 0;
  const run = async (args: string[], stdin?: string): Promise<void> => {
    stdout.text = "";
    stderr.text = "";
    const command = createCredentialsCommand({
      getServices: async () => services,
      stdout,
      stderr,
      clock,
      operator: "alice@ops-laptop",
      ...(stdin === undefined ? {} : { stdin: Readable.from([stdin]) }),
      sleep: async (ms) => {
        sleeps += 1;
        clock.advance(ms);
      },
    });
    await command.parseAsync(args, { from: "user" });
  };
  const runFails = async (args: string[]): Promise<CommanderError> => {
    const error: unknown = await run(args).then(() => null, (caught: unknown) => caught);
    if (!(error instanceof CommanderError)) throw new Error(`expected a CommanderError, got ${String(error)}`);
    return error;
  };
  return { clock, secrets, issuer, world, apiKeys, stdout, stderr, run, runFails, sleeps: () => sleeps };
}

const REGISTER = ["register", "--name", "openai-gw", "--issuer", "openai", "--project", "billing", "--target", "proj_abc/gw", "--environment", "prod", "--overlap", "1h"];

describe("palisade credentials", () => {
  it("registers by minting, then reports the inventory as a table and as JSON, never a value", async () => {
    const s = setup();
    await s.run(REGISTER);
    expect(s.stdout.text).toMatch(/^Registered openai-gw \(openai, project "billing"\)/);
    const value = (await readCurrentCredential(s.secrets, "openai-gw", s.clock))?.value ?? "###";
    expect(s.issuer.isLive(value)).toBe(true);
    await s.apiKeys.create({ project: "billing", serviceAccount: "app", expiresInMs: 5 * DAY });

    await s.run(["report"]);
    expect(s.stdout.text).toMatch(/KIND\s+ID\s+PREFIX\s+PROJECT\s+ENVIRONMENT\s+STAGE\s+AGE\s+EXPIRES\s+STATUS/);
    expect(s.stdout.text).toMatch(/managed-credential\s+openai-gw\s+key-\w+\s+billing\s+prod\s+current\s+0m/);
    expect(s.stdout.text).toMatch(/api-key .*active WARNING/);
    expect(s.stdout.text).not.toContain(value);

    await s.run(["report", "--json", "--project", "billing"]);
    const rows = JSON.parse(s.stdout.text) as Record<string, unknown>[];
    expect(rows.find((row) => row.id === "openai-gw")).toMatchObject({ kind: "managed-credential", stage: "current", status: "active", severity: "ok", daysToExpiry: 60, environment: "prod" });
    expect(s.stdout.text).not.toContain(value);
  });

  it("registers a value in use today from stdin, with its issuer key id", async () => {
    const s = setup();
    await s.run([...REGISTER, "--value-stdin", "--issuer-key-id", "svc_acct_1", "--json"], "sk-existing-value\n");
    expect(JSON.parse(s.stdout.text)).toMatchObject({ id: "openai-gw", issuer: "openai" });
    expect(s.stdout.text).not.toContain("sk-existing-value");
    const read = await readCurrentCredential(s.secrets, "openai-gw", s.clock);
    expect(read?.value).toBe("sk-existing-value");
    expect((await s.world.versions("openai-gw"))[0]?.issuerKeyId).toBe("svc_acct_1");
  });

  it("refuses bad input with one line and exit code 1", async () => {
    const s = setup();
    expect((await s.runFails([...REGISTER.slice(0, -2), "--overlap", "5m"])).exitCode).toBe(1);
    expect(s.stderr.text).toContain("at least 15m");
    expect((await s.runFails(["register", "--name", "x", "--issuer", "aws", "--project", "p", "--target", "t"])).exitCode).toBe(1);
    expect(s.stderr.text).toContain("--issuer must be one of");
    await s.run(REGISTER);
    await s.runFails(REGISTER);
    expect(s.stderr.text).toContain("already registered");
    await s.runFails(["rotate", "nope", "--now"]);
    expect(s.stderr.text).toContain("not a managed credential");
  });

  it("rotates now (suspected compromise), and --wait revokes the previous one after the overlap", async () => {
    const s = setup();
    await s.run(REGISTER);
    const before = (await readCurrentCredential(s.secrets, "openai-gw", s.clock))?.value ?? "";
    await s.run(["rotate", "openai-gw", "--json"]);
    expect(JSON.parse(s.stdout.text)).toMatchObject({ status: "not_due" });

    await s.run(["rotate", "openai-gw", "--now", "--json"]);
    const outcome = JSON.parse(s.stdout.text) as Record<string, unknown>;
    expect(outcome).toMatchObject({ status: "draining", step: "promoted" });
    expect(typeof outcome.drainEndsAt).toBe("string");
    expect(s.issuer.isLive(before)).toBe(true);

    // The fake's services share the clock the CLI's sleep advances.
    await s.run(["rotate", "openai-gw", "--wait"]);
    expect(s.stdout.text).toMatch(/^openai-gw: completed, rotation [0-9a-f-]+\.$/m);
    expect(s.sleeps()).toBeGreaterThan(0);
    expect(s.issuer.isLive(before)).toBe(false);
    expect(s.clock.nowInMs()).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 1) + HOUR);
  });

  it("exits 1 when a rotation is rolled back", async () => {
    const s = setup();
    await s.run(REGISTER);
    s.issuer.refuseVerification = true;
    const error = await s.runFails(["rotate", "openai-gw", "--now"]);
    expect(error.exitCode).toBe(1);
    expect(s.stdout.text).toContain("rolled_back");
    expect(s.stderr.text).toContain("verification_failed");
  });

  it("registers an Azure OpenAI slot by reading its key through ARM, never through the terminal", async () => {
    const arm = await startMockArm();
    try {
      const account = arm.addAccount({ subscription: "s", resourceGroup: "rg", name: "aoai" });
      const s = setup();
      const services = { secrets: s.secrets, apiKeys: null, rotator: null, states: null, issuers: { "azure-openai": new AzureOpenAiKeyIssuer({ credential: createCredential({ local: true }), armBaseUrl: arm.url }) }, audit: s.world.audit, policyVersion: "p", newId: () => "id-1" };
      const stdout = new Capture();
      const command = createCredentialsCommand({ getServices: async () => services, stdout, stderr: new Capture(), clock: s.clock });
      await command.parseAsync(["register", "--name", "aoai-weu", "--issuer", "azure-openai", "--project", "billing", "--target", account.resourceId, "--deployment", "gpt-4o", "--slot", "Key2"], { from: "user" });
      const read = await readCurrentCredential(s.secrets, "aoai-weu", s.clock);
      expect(read?.value).toBe(arm.keysOf(account.resourceId)?.key2);
      expect(stdout.text).not.toContain(read?.value ?? "###");
      expect((await s.world.versions("aoai-weu"))[0]).toMatchObject({ slot: "Key2", issuerKeyId: "Key2", stage: "current" });
      expect(arm.calls.regenerate).toEqual([]);
    } finally {
      await arm.stop();
    }
  });
});

describe("palisade credentials rotate --force (issue 21 item 11)", () => {
  const MINUTE = 60_000;
  /** A run that crashed after minting: its lease (10 minutes) still names it. */
  async function crashedRotation() {
    const s = setup({ leaseInMs: 10 * MINUTE });
    await s.run(REGISTER);
    const crashing = s.world.rotator({
      leaseInMs: 10 * MINUTE,
      afterStep: (checkpoint) => {
        if (checkpoint === "minted") throw new Error("process killed");
      },
    });
    await expect(crashing.rotate("openai-gw", { force: true })).rejects.toThrow("process killed");
    const owner = (await s.world.states.get("openai-gw"))?.state.owner ?? "";
    expect(owner).not.toBe("");
    return { ...s, owner };
  }

  it("says who holds the lease, at which step and until when, and how to take over", async () => {
    const s = await crashedRotation();
    const error = await s.runFails(["rotate", "openai-gw", "--now"]);
    expect(error.exitCode).toBe(1);
    expect(s.stderr.text).toContain(`is held by run ${s.owner} (step begun`);
    expect(s.stderr.text).toContain("whose lease runs until 2026-01-01 00:10Z");
    expect(s.stderr.text).toContain(`palisade credentials rotate openai-gw --force --holder ${s.owner}`);
  });

  it("refuses --force without naming the holder, or naming another run; nothing changes and nothing is recorded", async () => {
    const s = await crashedRotation();
    const eventsBefore = s.world.audit.published.length;
    expect((await s.runFails(["rotate", "openai-gw", "--now", "--force"])).exitCode).toBe(1);
    expect(s.stderr.text).toContain("--force needs --holder");
    expect((await s.runFails(["rotate", "openai-gw", "--now", "--force", "--holder", "someone-else"])).exitCode).toBe(1);
    expect(s.stderr.text).toContain(`held by run ${s.owner}, not someone-else`);
    expect((await s.world.states.get("openai-gw"))?.state.owner).toBe(s.owner);
    expect(s.world.audit.published.length).toBe(eventsBefore);
  });

  it("takes over a dead run's lease when its holder is named, records it, and finishes the rotation", async () => {
    const s = await crashedRotation();
    const before = await readCurrentCredential(s.secrets, "openai-gw", s.clock);
    await s.run(["rotate", "openai-gw", "--now", "--force", "--holder", s.owner, "--json"]);
    expect(s.stderr.text).toContain(`Took over the rotation of openai-gw from run ${s.owner} (step begun)`);
    expect((JSON.parse(s.stdout.text) as { status: string }).status).toBe("draining");
    const after = await readCurrentCredential(s.secrets, "openai-gw", s.clock);
    expect(after?.value).not.toBe(before?.value);
    const takeOver = s.world.audit.published.find((event) => event.reason === "rotation_lease_taken_over");
    expect(takeOver).toMatchObject({
      type: "key_rotated",
      project: "billing",
      status: "success",
      details: { credentialId: "openai-gw", previousOwner: s.owner, step: "begun", actor: "alice@ops-laptop", via: "cli", leaseUntil: "2026-01-01T00:10:00.000Z" },
    });
  });

  it("does not take over when the take-over cannot be audited", async () => {
    const s = await crashedRotation();
    s.world.audit.failing = true;
    expect((await s.runFails(["rotate", "openai-gw", "--now", "--force", "--holder", s.owner])).exitCode).toBe(1);
    expect(s.stderr.text).toContain("could not be recorded in the audit trail");
    expect((await s.world.states.get("openai-gw"))?.state.owner).toBe(s.owner);
  });
});
