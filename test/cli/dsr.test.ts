import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { type CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { createDsrCommand } from "../../src/cli/commands/dsr.js";
import { AuditAppender } from "../../src/core/audit/AuditAppender.js";
import { ManualClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { DataSubjectRequests, type SubjectExport } from "../../src/core/privacy/DataSubjectRequests.js";
import { SubjectProtector, subjectPepperFrom } from "../../src/core/privacy/SubjectProtector.js";
import { makeAuditEvent } from "../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../fakes/InMemoryAuditLedger.js";
import { InMemoryAuditPublisher } from "../fakes/InMemoryAuditPublisher.js";
import { InMemorySubjectKeyStore } from "../fakes/InMemorySubjectKeyStore.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

const SUBJECT = "customer-8812@example.org";

async function setup(stdinText = "") {
  const ledger = new InMemoryAuditLedger();
  const clock = new ManualClock();
  const protector = new SubjectProtector({ pepper: subjectPepperFrom(randomBytes(32)), keys: new InMemorySubjectKeyStore(), random: (n) => randomBytes(n) });
  const events = [];
  for (let i = 0; i < 6; i += 1) events.push(makeAuditEvent({ subject: (await protector.protect(i < 4 ? SUBJECT : "someone-else")).value }, i));
  await new AuditAppender({ ledger, clock, logger: silentLogger }).append(events.map((body) => ({ messageId: body.eventId, body })));
  const publisher = new InMemoryAuditPublisher();
  const requests = new DataSubjectRequests({ ledger, protector, publisher, clock, logger: silentLogger, newEventId: randomUUID, policyVersion: "p", actorId: "cli" });
  const stdout = new Capture();
  const stderr = new Capture();
  const command = createDsrCommand({ getRequests: async () => requests, stdin: Readable.from([stdinText]), stdout, stderr });
  return { publisher, stdout, stderr, run: (...args: string[]) => command.parseAsync(["node", "dsr", ...args]) };
}

describe("palisade dsr", () => {
  it("export prints the subject's events as JSON, decrypted", async () => {
    const { run, stdout, publisher } = await setup();
    await run("export", "--subject", SUBJECT);
    const exported = JSON.parse(stdout.text) as SubjectExport;
    expect(exported.format).toBe("palisade-dsr-export/v1");
    expect(exported.events).toHaveLength(4);
    expect(exported.events.every((e) => e.subject === SUBJECT)).toBe(true);
    expect(publisher.published.map((e) => e.type)).toEqual(["dsr_exported"]);
  });

  it("reads the subject from stdin with --subject -, and writes --out with owner-only permissions", async () => {
    const { run, stdout, stderr } = await setup(`${SUBJECT}\n`);
    const dir = await mkdtemp(join(tmpdir(), "palisade-dsr-"));
    try {
      const file = join(dir, "export.json");
      await run("export", "--subject", "-", "--out", file);
      expect(stdout.text).toBe("");
      expect(stderr.text).toBe(`4 event(s) written to ${file}\n`);
      expect((JSON.parse(await readFile(file, "utf8")) as SubjectExport).events).toHaveLength(4);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("erase destroys the key, says how many events it affected, and never prints the subject id", async () => {
    const { run, stdout, publisher } = await setup();
    await run("erase", "--subject", SUBJECT);
    expect(stdout.text).toMatch(/key destroyed; 4 event\(s\) can no longer be read/);
    expect(stdout.text).not.toContain("customer-8812");
    stdout.text = "";
    await run("export", "--subject", SUBJECT);
    expect((JSON.parse(stdout.text) as SubjectExport)).toMatchObject({ keyPresent: false, events: [] });
    expect(publisher.published.map((e) => e.type)).toEqual(["dsr_erased", "dsr_exported"]);
  });

  it("exits 1 with a reason when the request cannot be recorded", async () => {
    const { run, publisher, stderr, stdout } = await setup();
    publisher.failing = true;
    const error = await run("export", "--subject", SUBJECT).then(() => null, (e: unknown) => e);
    expect((error as CommanderError).exitCode).toBe(1);
    expect(stderr.text).toContain("broker unavailable");
    expect(stdout.text).toBe("");
  });
});

describe("palisade dsr on the local stack (Azurite, Key Vault and Service Bus emulators, through CliServices)", () => {
  it("exports and erases through the composition the CLI uses; the DSR events reach the _system session without the id", async () => {
    const { startLocalStack } = await import("../../local/stack.js");
    const { ServiceBusClient } = await import("@azure/service-bus");
    const { SecretClient } = await import("@azure/keyvault-secrets");
    const { CliServices } = await import("../../src/composition/cliServices.js");
    const { createSubjectProtector, dataSubjectRequestsForCli } = await import("../../src/composition/compliance.js");
    const { KeyVaultSecretStore } = await import("../../src/adapters/keyvault/KeyVaultSecretStore.js");
    const { keyVaultClientOptions } = await import("../../src/adapters/keyvault/keyVaultClientOptions.js");
    const { LocalDevelopmentCredential } = await import("../../src/adapters/identity/LocalDevelopmentCredential.js");
    const stack = await startLocalStack();
    const services = new CliServices({ ...stack.environment, PALISADE_POLICY: "config/policy.sample.yaml" });
    try {
      const digestKey = randomBytes(32);
      const secrets = new KeyVaultSecretStore(new SecretClient(stack.keyVault.vaultUrl, new LocalDevelopmentCredential(), keyVaultClientOptions({ caCertPem: stack.keyVault.caCertPem })));
      await secrets.setSecret("audit-digest-key", digestKey.toString("base64"));
      // What the gateway would do: protect the subject with the same pepper and append the events.
      const clock = new ManualClock(Date.now());
      const protector = createSubjectProtector({ digestKey, storage: services.storage(), clock, createTableIfMissing: true });
      const audit = await services.audit();
      const events = [];
      for (let i = 0; i < 5; i += 1) events.push(makeAuditEvent({ project: "demo", subject: (await protector.protect(i < 3 ? SUBJECT : "other")).value }, i));
      await audit.appender.append(events.map((body) => ({ messageId: body.eventId, body })));

      const stdout = new Capture();
      const stderr = new Capture();
      const command = createDsrCommand({ getRequests: () => dataSubjectRequestsForCli(services), stdout, stderr });
      await command.parseAsync(["node", "dsr", "export", "--subject", SUBJECT]);
      expect((JSON.parse(stdout.text) as SubjectExport).events.map((e) => e.eventId)).toEqual(events.slice(0, 3).map((e) => e.eventId));
      stdout.text = "";
      await command.parseAsync(["node", "dsr", "erase", "--subject", SUBJECT, "--json"]);
      expect(JSON.parse(stdout.text)).toMatchObject({ keyDestroyed: true, eventsAffected: 3 });
      expect(await protector.openerFor(SUBJECT)).toBeNull();

      const client = new ServiceBusClient(stack.environment.SERVICEBUS_CONNECTION_STRING ?? "");
      try {
        const receiver = await client.acceptSession(stack.environment.SERVICEBUS_AUDIT_QUEUE ?? "audit-events", "_system");
        const messages = await receiver.receiveMessages(10, { maxWaitTimeInMs: 2_000 });
        await receiver.close();
        const bodies = messages.map((m) => (typeof m.body === "string" ? m.body : JSON.stringify(m.body)));
        expect(bodies.map((b) => (JSON.parse(b) as { type: string }).type)).toEqual(["dsr_exported", "dsr_erased"]);
        expect(bodies.join("")).not.toContain("customer-8812");
      } finally {
        await client.close();
      }
    } finally {
      await services.close();
      await stack.stop();
    }
  }, 90_000);
});
