import { describe, expect, it } from "vitest";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { AuditAppender } from "../../../src/core/audit/AuditAppender.js";
import { AuditCheckpointer } from "../../../src/core/audit/AuditCheckpointer.js";
import { ManualClock } from "../../../src/core/clock.js";
import { ComplianceNightly, InvalidReportDateError } from "../../../src/core/compliance/ComplianceNightly.js";
import { silentLogger } from "../../../src/core/logger.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditLedger } from "../../fakes/InMemoryAuditLedger.js";
import { InMemoryCheckpointAnchor } from "../../fakes/InMemoryCheckpointAnchor.js";
import { InMemoryCheckpointSigner } from "../../fakes/InMemoryCheckpointSigner.js";
import { InMemoryAuditOutbox } from "../../fakes/InMemoryAuditOutbox.js";
import { InMemoryAuditDeadLetters } from "../../fakes/InMemoryAuditDeadLetters.js";
import { InMemoryAuditDeadLetterQueue } from "../../fakes/InMemoryAuditDeadLetterQueue.js";
import { InMemoryAuditPublisher } from "../../fakes/InMemoryAuditPublisher.js";
import { InMemoryCheckpointKeyPins } from "../../fakes/InMemoryCheckpointKeyPins.js";
import { CheckpointKeyTrust } from "../../../src/core/audit/CheckpointKeyTrust.js";
import { checkpointNoteText } from "../../../src/core/audit/checkpointNote.js";
import { sha256 } from "../../../src/core/audit/hashing.js";
import { generateDay } from "./dayFixture.js";
import { RecordingReportStore } from "./RecordingReportStore.js";

const DAY = 86_400_000;
const REPORT_DAY = "2026-03-10";
const REPORT_START = Date.parse(`${REPORT_DAY}T00:00:00Z`);

/** Seven quiet days for `sa-burst` (10 calls a day), then the generated day plus 90 calls from it. */
function history(chainId: string): { events: AuditEvent[]; dayRequests: number } {
  const events: AuditEvent[] = [];
  for (let d = 7; d >= 1; d -= 1) {
    for (let i = 0; i < 10; i += 1) {
      events.push(makeAuditEvent({ eventId: `${chainId}-h-${d}-${i}`, project: chainId, actor: { kind: "service-account", id: "sa-burst" }, ts: new Date(REPORT_START - d * DAY + i * 60_000).toISOString() }));
    }
  }
  const day = generateDay({ chainId, date: REPORT_DAY, count: 150, seed: chainId.length });
  const burst = Array.from({ length: 90 }, (_, i) =>
    makeAuditEvent({ eventId: `${chainId}-burst-${i}`, project: chainId, actor: { kind: "service-account", id: "sa-burst" }, ts: new Date(REPORT_START + 3_600_000 + i * 1000).toISOString() }),
  );
  const all = [...events, ...day.events, ...burst].sort((a, b) => (a.ts < b.ts ? -1 : 1));
  const isRequest = (e: AuditEvent): boolean => ["api_call", "auth_failed", "policy_violation", "pii_detected", "rate_limited", "budget_exceeded", "residency_blocked", "content_filtered", "prompt_attack_detected"].includes(e.type);
  return { events: all, dayRequests: day.inside.filter(isRequest).length + burst.length };
}

async function setup() {
  const ledger = new InMemoryAuditLedger();
  const anchor = new InMemoryCheckpointAnchor();
  const signer = new InMemoryCheckpointSigner();
  const clock = new ManualClock(REPORT_START + DAY + 2 * 3_600_000);
  const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
  const appender = new AuditAppender({ ledger, clock, logger: silentLogger });
  const expected: Record<string, number> = {};
  for (const chainId of ["acme", "billing"]) {
    const { events, dayRequests } = history(chainId);
    expected[chainId] = dayRequests;
    const outcomes = await appender.append(events.map((event) => ({ messageId: event.eventId, body: event })));
    expect(outcomes.every((o) => o.status === "appended")).toBe(true);
  }
  const reports = new RecordingReportStore();
  const nightly = new ComplianceNightly({ ledger, anchor, signatureVerifier: signer.verifier(), checkpointer, reports, clock, logger: silentLogger, projectTags: { acme: { team: "payments" } } });
  return { ledger, anchor, signer, clock, reports, nightly, expected };
}

describe("ComplianceNightly", () => {
  it("says a chain is intact but NOT complete while events for it wait in the outbox or the broker's dead-letter queue", async () => {
    const { ledger, anchor, signer, clock } = await setup();
    const outbox = new InMemoryAuditOutbox();
    await outbox.put([makeAuditEvent({ project: "acme" }, 900), makeAuditEvent({ project: "acme" }, 901)]);
    const deadLetterQueue = new InMemoryAuditDeadLetterQueue(new InMemoryAuditPublisher());
    deadLetterQueue.deadLetter(makeAuditEvent({ project: "acme" }, 902));
    const reports = new RecordingReportStore();
    const checkpointer = new AuditCheckpointer({ ledger, anchor, signer, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
    const nightly = new ComplianceNightly({
      ledger, anchor, signatureVerifier: signer.verifier(), checkpointer, reports, clock, logger: silentLogger,
      backlog: { outbox, deadLetters: new InMemoryAuditDeadLetters(), deadLetterQueue },
    });
    await nightly.run();
    expect(reports.summary("acme", REPORT_DAY).integrity).toMatchObject({ intact: true, pending: { outbox: 2, deadLetterQueue: 1, deadLetterStore: 0, complete: false } });
    expect(reports.summary("billing", REPORT_DAY).integrity.pending).toEqual({ outbox: 0, deadLetterQueue: 0, deadLetterStore: 0, complete: true });
    expect(reports.files.get(`acme/${REPORT_DAY}/report.html`)?.content).toContain("NOT COMPLETE");
  });

  it("verifies, checkpoints and summarises every chain for the previous UTC day by default", async () => {
    const { nightly, reports, anchor, ledger, expected } = await setup();
    const result = await nightly.run();
    expect(result.date).toBe(REPORT_DAY);
    expect(result.chains.map((c) => c.chainId).sort()).toEqual(["acme", "billing"]);
    for (const chain of result.chains) {
      const size = (await ledger.getHead(chain.chainId))?.size;
      expect(chain).toMatchObject({ ok: true, intact: true, checkpointSize: size, requests: expected[chain.chainId] });
      expect((await anchor.getLatest(chain.chainId))?.size).toBe(size);
      const summary = reports.summary(chain.chainId, REPORT_DAY);
      expect(summary.requests.total).toBe(expected[chain.chainId]);
      expect(summary.integrity).toMatchObject({ intact: true, checkpoint: { size }, checkpointError: null });
      // The trailing 7 days were read and bucketed: sa-burst's 10 a day against today's 90+.
      expect(summary.anomalies).toContainEqual(expect.objectContaining({ actor: "service-account:sa-burst", metric: "requests", direction: "spike", baselineMean: 10, newActor: false }));
      const html = reports.files.get(`${chain.chainId}/${REPORT_DAY}/report.html`);
      expect(html?.contentType).toMatch(/^text\/html/);
      expect(html?.content).toContain(`<b id="requests-total">${expected[chain.chainId]}</b>`);
    }
    expect(reports.summary("acme", REPORT_DAY).cost.byTag["team=payments"]?.requests).toBe(expected.acme);
  });

  it("reports on a given day and chain; an earlier day has only the history", async () => {
    const { nightly, reports } = await setup();
    const result = await nightly.run({ date: "2026-03-09", chainId: "billing" });
    expect(result.chains.map((c) => c.chainId)).toEqual(["billing"]);
    // 10 history calls, plus the generator's call at 23:59:59.999 just before the generated day.
    expect(reports.summary("billing", "2026-03-09").requests.total).toBe(10 + 1);
    expect(reports.files.has("acme/2026-03-09/summary.json")).toBe(false);
  });

  it("records a tampered chain as not intact, signs nothing for it, and still reports the others", async () => {
    const { nightly, reports, ledger, anchor } = await setup();
    const rows = ledger.chains.get("acme")!.rows;
    const row = rows.get("000000000005")!;
    rows.set("000000000005", { ...row, canonical: row.canonical.replace('"status":"success"', '"status":"error"') });
    const result = await nightly.run({ date: REPORT_DAY });
    const acme = result.chains.find((c) => c.chainId === "acme");
    expect(acme).toMatchObject({ ok: true, intact: false, checkpointSize: null });
    expect(await anchor.getLatest("acme")).toBeNull();
    const summary = reports.summary("acme", REPORT_DAY);
    expect(summary.integrity).toMatchObject({ intact: false, problem: "payload_edited", firstBadSequence: 5, checkpoint: null, checkpointError: "payload_edited" });
    expect(summary.soc2.find((c) => c.control === "CC7.2")?.status).toBe("attention");
    expect(result.chains.find((c) => c.chainId === "billing")).toMatchObject({ ok: true, intact: true });
  });

  it("refuses a date that is not a UTC calendar day", async () => {
    const { nightly } = await setup();
    await expect(nightly.run({ date: "2026-02-30" })).rejects.toBeInstanceOf(InvalidReportDateError);
    await expect(nightly.run({ date: "yesterday" })).rejects.toThrow(/YYYY-MM-DD/);
  });
});

describe("ComplianceNightly: the checkpoint keys it trusted (issue 21 item 10)", () => {
  it("verifies against the pinned versions and records them; a broken pin chain makes every chain not intact", async () => {
    const { ledger, anchor, signer, clock } = await setup();
    const pins = new InMemoryCheckpointKeyPins();
    const keyTrust = new CheckpointKeyTrust({ pins, keys: signer, clock, logger: silentLogger });
    const checkpointer = new AuditCheckpointer({ ledger, anchor, signer: keyTrust, signatureVerifier: signer.verifier(), clock, logger: silentLogger });
    const reports = new RecordingReportStore();
    const nightly = new ComplianceNightly({ ledger, anchor, signatureVerifier: signer.verifier(), keyTrust, checkpointer, reports, clock, logger: silentLogger });
    await nightly.run({ date: REPORT_DAY, chainId: "acme" });
    const result = await nightly.run({ date: REPORT_DAY, chainId: "acme" });
    const integrity = result.chains[0]?.summary?.integrity;
    expect(integrity).toMatchObject({ intact: true, checkpointsChecked: 1, trust: { mode: "pinned", keys: [{ keyId: signer.keyId }] } });
    expect(integrity?.trust?.mode === "pinned" && integrity.trust.root).toMatch(/^[\w-]{43}$/);
    expect(result.chains[0]?.summary?.soc2.find((c) => c.control === "CC7.2")?.evidence).toContainEqual(expect.objectContaining({ id: "audit.checkpointKeysPinned", count: 1 }));
    const html = reports.files.get(`acme/${REPORT_DAY}/report.html`)?.content ?? "";
    expect(html).toContain(`<code id="trust-root">${integrity?.trust?.mode === "pinned" ? integrity.trust.root : "?"}</code>`);
    expect(html).toContain(signer.keyId);

    // A note re-signed with a version added to the vault is refused by name.
    const added = await signer.createVersion();
    const note = anchor.notes.get("acme")!.values().next().value!;
    const signature = await signer.signWith(added, sha256(checkpointNoteText(note)));
    anchor.notes.get("acme")!.set(note.size, { ...note, keyId: added, signature: Buffer.from(signature).toString("base64") });
    const resigned = await nightly.run({ date: REPORT_DAY, chainId: "acme" });
    expect(resigned.chains[0]?.summary?.integrity).toMatchObject({ intact: false, problem: "untrusted_key" });
    expect(resigned.chains[0]?.summary?.integrity.message).toContain(added);

    pins.stored.set(0, "not a pin");
    const broken = await nightly.run({ date: REPORT_DAY, chainId: "acme" });
    expect(broken.chains[0]?.summary?.integrity).toMatchObject({ intact: false, problem: "invalid_key_pin", checkpointError: "invalid_key_pin" });
  });

  it("without pinned trust it says so, and the monitoring control needs attention", async () => {
    const { nightly } = await setup();
    const result = await nightly.run({ date: REPORT_DAY, chainId: "acme" });
    expect(result.chains[0]?.summary?.integrity.trust).toEqual({ mode: "key_vault" });
    expect(result.chains[0]?.summary?.soc2.find((c) => c.control === "CC7.2")?.status).toBe("attention");
  });
});
