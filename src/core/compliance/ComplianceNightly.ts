import { type AuditEvent } from "../audit/AuditEvent.js";
import { type AuditBacklog, type AuditBacklogSources, countAuditBacklogs } from "../audit/auditBacklog.js";
import { type AuditLedger } from "../audit/AuditLedger.js";
import { type CheckpointAnchor } from "../audit/CheckpointAnchor.js";
import { type SignedCheckpoint } from "../audit/checkpointNote.js";
import { queryAuditEvents } from "../audit/queryAuditEvents.js";
import { type CheckpointKeyTrust } from "../audit/CheckpointKeyTrust.js";
import { type CheckpointTrustUsed, pinnedTrustUsed } from "../audit/checkpointTrustUsed.js";
import { isAuditIntegrityError } from "../audit/AuditIntegrityError.js";
import { type SignatureVerifier } from "../audit/SignatureVerifier.js";
import { verifyStoredChain } from "../audit/verifyStoredChain.js";
import { type VerifyResult } from "../audit/verifyChain.js";
import { type Clock } from "../clock.js";
import { type Logger } from "../logger.js";
import { type ChainIntegrity, type ComplianceSummary } from "./ComplianceSummary.js";
import { type ComplianceReportStore } from "./ComplianceReportStore.js";
import { type AnomalyOptions } from "./detectAnomalies.js";
import { renderComplianceReport } from "./renderComplianceReport.js";
import { summarizeDay } from "./summarizeDay.js";
import { DAY_IN_MS, parseUtcDay, previousUtcDay, shiftUtcDay, type UtcDay } from "./utcDay.js";

export interface ComplianceNightlyDeps {
  readonly ledger: AuditLedger;
  readonly anchor: CheckpointAnchor;
  /** Any version of the checkpoint key in the vault: used only when there is no pinned trust (`keyTrust`). */
  readonly signatureVerifier: SignatureVerifier;
  /** The pinned checkpoint keys: what verification trusts, recorded in the report. */
  readonly keyTrust?: Pick<CheckpointKeyTrust, "load"> | null;
  readonly checkpointer: { checkpoint(chainId: string, options?: { abortSignal?: AbortSignal }): Promise<SignedCheckpoint> };
  /** Where summaries and reports go (Blob storage). */
  readonly reports: ComplianceReportStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Project id -> policy tags, for cost by tag (events carry no tags). */
  readonly projectTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly anomalyOptions?: AnomalyOptions;
  /** Where events wait before they reach a chain: counted so that the report says "intact but not complete". */
  readonly backlog?: AuditBacklogSources;
  /** How many previous days make the anomaly baseline (default 7). */
  readonly trailingDays?: number;
}

export interface ComplianceRunOptions {
  /** `YYYY-MM-DD` (UTC); the previous UTC day when absent. */
  readonly date?: string;
  /** One chain; every chain when absent. */
  readonly chainId?: string;
  /** Also write to these stores (the CLI's `--out DIR`). */
  readonly alsoWriteTo?: readonly ComplianceReportStore[];
  readonly abortSignal?: AbortSignal;
}

export interface ChainRunResult {
  readonly chainId: string;
  /** false when the chain could not be summarised at all (`error` says why). */
  readonly ok: boolean;
  readonly intact: boolean;
  readonly checkpointSize: number | null;
  readonly requests: number;
  readonly anomalies: number;
  readonly locations: readonly string[];
  readonly summary: ComplianceSummary | null;
  readonly error?: string;
}

export interface ComplianceRunResult {
  readonly date: string;
  readonly chains: readonly ChainRunResult[];
}

export class InvalidReportDateError extends RangeError {
  override readonly name = "InvalidReportDateError";
}

/** The trust of one run: a verifier (with the key versions it may accept), or why the pins cannot be trusted. */
type RunTrust =
  | { readonly signatureVerifier: SignatureVerifier; readonly trustedKeyIds?: ReadonlySet<string>; readonly used: CheckpointTrustUsed }
  | { readonly broken: string; readonly used: CheckpointTrustUsed };

const errorCode = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "problem" in error && typeof error.problem === "string") return error.problem;
  return "signing_failed";
};

/**
 * The nightly compliance job, per chain and UTC day: verify the chain, sign a checkpoint, read the
 * day and the trailing days, summarise (with anomalies and the SOC 2 mapping), and write
 * `summary.json` and `report.html`. One chain's failure does not stop the others.
 */
export class ComplianceNightly {
  constructor(private readonly deps: ComplianceNightlyDeps) {}

  /** The day a run covers: the given date, or the previous UTC day. */
  dayFor(date: string | undefined): UtcDay {
    if (date === undefined) return previousUtcDay(this.deps.clock.nowInMs());
    const day = parseUtcDay(date);
    if (day === null) throw new InvalidReportDateError(`"${date}" is not a date: use YYYY-MM-DD (a UTC day)`);
    return day;
  }

  async run(options: ComplianceRunOptions = {}): Promise<ComplianceRunResult> {
    const day = this.dayFor(options.date);
    const signal = options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
    const chains: string[] = [];
    if (options.chainId !== undefined) chains.push(options.chainId);
    else for await (const head of this.deps.ledger.listChains(signal)) chains.push(head.chainId);
    const results: ChainRunResult[] = [];
    const backlogOf = await this.backlogs(signal);
    const trust = await this.trust(signal);
    for (const chainId of chains) {
      try {
        results.push(await this.runChain(chainId, day, options, trust, backlogOf?.(chainId)));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.deps.logger.error("compliance.chain.failed", { chainId, date: day.date, error: error instanceof Error ? error.name : "unknown" });
        results.push({ chainId, ok: false, intact: false, checkpointSize: null, requests: 0, anomalies: 0, locations: [], summary: null, error: message });
      }
    }
    return { date: day.date, chains: results };
  }

  /** The backlog of every chain, counted once per run; null when there is nothing to count or it cannot be read. */
  private async backlogs(signal: { abortSignal?: AbortSignal }): Promise<((chainId: string) => AuditBacklog) | null> {
    if (this.deps.backlog === undefined) return null;
    try {
      return await countAuditBacklogs({ ledger: this.deps.ledger, ...this.deps.backlog }, signal);
    } catch (error) {
      this.deps.logger.error("compliance.backlog.unreadable", { error: error instanceof Error ? error.name : "unknown" });
      return null;
    }
  }

  /** The keys verification trusts, read once per run: the pins, or (without them) any vault version. A broken pin chain fails every chain. */
  private async trust(signal: { abortSignal?: AbortSignal }): Promise<RunTrust> {
    const keyTrust = this.deps.keyTrust;
    if (keyTrust === undefined || keyTrust === null) return { signatureVerifier: this.deps.signatureVerifier, used: { mode: "key_vault" } };
    try {
      const { trust } = await keyTrust.load(signal);
      return { signatureVerifier: trust.verifier, trustedKeyIds: trust.trustedKeyIds, used: pinnedTrustUsed(trust) };
    } catch (error) {
      if (!isAuditIntegrityError(error)) throw error;
      this.deps.logger.error("compliance.trust.broken", { problem: error.problem });
      return { broken: error.message, used: { mode: "pinned", root: null, keys: [] } };
    }
  }

  private async runChain(chainId: string, day: UtcDay, options: ComplianceRunOptions, trust: RunTrust, pending?: AuditBacklog): Promise<ChainRunResult> {
    const { ledger, anchor, checkpointer, clock, logger } = this.deps;
    const signal = options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
    const verified: VerifyResult =
      "broken" in trust
        ? { intact: false, chainId, entriesChecked: 0, checkpointsChecked: 0, problem: "invalid_key_pin", message: `The pinned checkpoint keys cannot be trusted: ${trust.broken}` }
        : await verifyStoredChain({ ledger, anchor, signatureVerifier: trust.signatureVerifier, ...(trust.trustedKeyIds === undefined ? {} : { trustedKeyIds: trust.trustedKeyIds }) }, chainId, signal);
    let checkpoint: SignedCheckpoint | null = null;
    let checkpointError: string | null = null;
    if (!verified.intact) checkpointError = verified.problem ?? "not_intact";
    else if (verified.entriesChecked === 0) checkpointError = "empty_chain";
    else {
      try {
        checkpoint = await checkpointer.checkpoint(chainId, signal);
      } catch (error) {
        checkpointError = errorCode(error);
        logger.error("compliance.checkpoint.failed", { chainId, problem: checkpointError });
      }
    }
    const integrity: ChainIntegrity = {
      intact: verified.intact,
      entriesChecked: verified.entriesChecked,
      checkpointsChecked: verified.checkpointsChecked,
      problem: verified.problem ?? null,
      firstBadSequence: verified.firstBadSequence ?? null,
      message: verified.message,
      checkpoint: checkpoint === null ? null : { size: checkpoint.size, rootHash: checkpoint.rootHash, timestamp: checkpoint.timestamp, keyId: checkpoint.keyId },
      checkpointError,
      trust: trust.used,
      ...(pending === undefined ? {} : { pending }),
    };

    const trailingCount = this.deps.trailingDays ?? 7;
    const firstDay = shiftUtcDay(day, -trailingCount);
    const dayEvents: AuditEvent[] = [];
    const trailing: AuditEvent[][] = Array.from({ length: trailingCount }, () => []);
    const since = new Date(firstDay.startInMs).toISOString();
    const until = new Date(day.endInMs).toISOString();
    for await (const event of queryAuditEvents(ledger, { chainId, since, until, ...signal })) {
      const ms = Date.parse(event.ts);
      if (ms >= day.startInMs) dayEvents.push(event);
      else trailing[Math.floor((day.startInMs - 1 - ms) / DAY_IN_MS)]?.push(event);
    }

    const summary = summarizeDay({
      chainId,
      day,
      events: dayEvents,
      trailingDays: trailing,
      integrity,
      generatedAtInMs: clock.nowInMs(),
      ...(this.deps.projectTags === undefined ? {} : { projectTags: this.deps.projectTags }),
      ...(this.deps.anomalyOptions === undefined ? {} : { anomalyOptions: this.deps.anomalyOptions }),
    });
    const artifacts = [
      { name: "summary.json" as const, content: `${JSON.stringify(summary, null, 2)}\n`, contentType: "application/json; charset=utf-8" },
      { name: "report.html" as const, content: renderComplianceReport(summary), contentType: "text/html; charset=utf-8" },
    ];
    const locations: string[] = [];
    for (const store of [this.deps.reports, ...(options.alsoWriteTo ?? [])]) {
      for (const artifact of artifacts) locations.push(await store.put(chainId, day.date, artifact, signal));
    }
    logger.info("compliance.chain.summarised", {
      chainId,
      date: day.date,
      intact: verified.intact,
      checkpointSize: checkpoint?.size ?? null,
      requests: summary.requests.total,
      anomalies: summary.anomalies.length,
    });
    return {
      chainId,
      ok: true,
      intact: verified.intact,
      checkpointSize: checkpoint?.size ?? null,
      requests: summary.requests.total,
      anomalies: summary.anomalies.length,
      locations,
      summary,
    };
  }
}
