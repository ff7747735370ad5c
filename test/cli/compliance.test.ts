import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { CommanderError } from "commander";
import { afterEach, describe, expect, it } from "vitest";
import { EXIT_NOT_INTACT, createComplianceCommand } from "../../src/cli/commands/compliance.js";
import { AuditAppender } from "../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer } from "../../src/core/audit/AuditCheckpointer.js";
import { ManualClock } from "../../src/core/clock.js";
import { ComplianceNightly } from "../../src/core/compliance/ComplianceNightly.js";
import { type ComplianceSummary } from "../../src/core/compliance/ComplianceSummary.js";
import { silentLogger } from "../../src/core/logger.js";
import { generateDay } from "../core/compliance/dayFixture.js";
import { RecordingReportStore } from "../core/compliance/RecordingReportStore.js";
import { InMemoryAuditLedger } from "../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../fakes/InMemoryCheckpointSigner.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function setup() {
  const ledger = new InMemoryAuditLedger();
  const anchor = new InMemoryCheckpointAnchor();
  const signer = new InMemoryCheckpointSigner();
  const clock = new ManualClock(Date.parse("2026-03-11T09:00:00Z"));
  const day = generateDay({ chainId: "acme", count: 80, seed: 5 });
  await new AuditAppender({ ledger, clock, logger: silentLogger }).append(day.events.map((body) => ({ messageId: body.eventId, body })));
  const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
  const reports = new RecordingReportStore();
  const nightly = new ComplianceNightly({ ledger, anchor, signatureVerifier: signer.verifier(), checkpointer, reports, clock, logger: silentLogger });
  const stdout = new Capture();
  const stderr = new Capture();
  const command = createComplianceCommand({ getNightly: async () => nightly, stdout, stderr });
  const run = (...args: string[]) => command.parseAsync(["node", "compliance", ...args]);
  return { ledger, reports, stdout, stderr, run, day };
}

describe("palisade compliance run", () => {
  it("writes summary.json and report.html to --out as well as the store, and prints JSON", async () => {
    const { run, stdout, reports, day } = await setup();
    const out = await mkdtemp(join(tmpdir(), "palisade-compliance-"));
    dirs.push(out);
    await run("run", "--date", "2026-03-10", "--out", out, "--json");
    const printed = JSON.parse(stdout.text) as { date: string; chains: { chainId: string; intact: boolean; locations: string[] }[] };
    expect(printed.date).toBe("2026-03-10");
    expect(printed.chains).toEqual([expect.objectContaining({ chainId: "acme", intact: true, checkpointSize: day.events.length })]);
    expect(printed.chains[0]?.locations).toEqual([
      "memory://acme/2026-03-10/summary.json",
      "memory://acme/2026-03-10/report.html",
      join(out, "acme", "2026-03-10", "summary.json"),
      join(out, "acme", "2026-03-10", "report.html"),
    ]);
    const summary = JSON.parse(await readFile(join(out, "acme", "2026-03-10", "summary.json"), "utf8")) as ComplianceSummary;
    expect(summary.events.total).toBe(day.inside.length);
    expect(summary).toEqual(reports.summary("acme", "2026-03-10"));
    expect(await readFile(join(out, "acme", "2026-03-10", "report.html"), "utf8")).toContain("<svg");
  });

  it("prints a line per chain and defaults to yesterday (UTC)", async () => {
    const { run, stdout } = await setup();
    await run("run", "--chain", "acme");
    expect(stdout.text).toMatch(/^acme 2026-03-10: intact, checkpoint \d+, \d+ requests, \d+ anomalies\n/);
  });

  it("exits 2 when a chain is not intact", async () => {
    const { run, ledger, stderr } = await setup();
    const rows = ledger.chains.get("acme")!.rows;
    rows.delete("000000000003");
    const error = await run("run", "--date", "2026-03-10").then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).exitCode).toBe(EXIT_NOT_INTACT);
    expect(stderr.text).toContain("not intact");
  });

  it("refuses a date that is not YYYY-MM-DD", async () => {
    const { run, stderr } = await setup();
    const error = await run("run", "--date", "10/03/2026").then(() => null, (e: unknown) => e);
    expect((error as CommanderError).exitCode).toBe(1);
    expect(stderr.text).toContain("YYYY-MM-DD");
  });
});

describe("palisade compliance run on the local stack (through CliServices)", () => {
  it("signs the checkpoint with the Key Vault key and writes the blobs and --out files", async () => {
    const { startLocalStack } = await import("../../local/stack.js");
    const { CliServices } = await import("../../src/composition/cliServices.js");
    const { complianceNightlyForCli } = await import("../../src/composition/compliance.js");
    const { BlobServiceClient } = await import("@azure/storage-blob");
    const stack = await startLocalStack();
    const services = new CliServices({ ...stack.environment, PALISADE_POLICY: "config/policy.sample.yaml" });
    const out = await mkdtemp(join(tmpdir(), "palisade-compliance-"));
    dirs.push(out);
    try {
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const day = generateDay({ chainId: "demo", date: yesterday, count: 60, seed: 9 });
      await (await services.audit()).appender.append(day.events.map((body) => ({ messageId: body.eventId, body })));
      const stdout = new Capture();
      const command = createComplianceCommand({ getNightly: () => complianceNightlyForCli(services), stdout, stderr: new Capture() });
      await command.parseAsync(["node", "compliance", "run", "--date", yesterday, "--chain", "demo", "--out", out, "--json"]);
      const printed = JSON.parse(stdout.text) as { date: string; chains: { intact: boolean; checkpointSize: number }[] };
      expect(printed).toMatchObject({ date: yesterday, chains: [{ intact: true, checkpointSize: day.events.length }] });
      const summary = JSON.parse(await readFile(join(out, "demo", yesterday, "summary.json"), "utf8")) as ComplianceSummary;
      expect(summary.integrity.checkpoint?.keyId).toContain("/keys/audit-checkpoint/");
      expect(summary.events.total).toBe(day.inside.length);
      const container = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient("compliance-reports");
      const names: string[] = [];
      for await (const blob of container.listBlobsFlat()) names.push(blob.name);
      expect(names.sort()).toEqual([`demo/${yesterday}/report.html`, `demo/${yesterday}/summary.json`]);
    } finally {
      await services.close();
      await stack.stop();
    }
  }, 90_000);
});
