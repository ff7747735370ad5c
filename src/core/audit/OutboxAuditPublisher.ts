import { PalisadeError } from "../errors.js";
import { type Logger } from "../logger.js";
import { type AuditEvent } from "./AuditEvent.js";
import { type AuditOutbox } from "./AuditOutbox.js";
import { type AuditPublisher, type PublishOptions } from "./AuditPublisher.js";

export type AuditPublishFailureMode = "fail_closed" | "outbox";

export interface OutboxAuditPublisherDeps {
  readonly primary: AuditPublisher;
  readonly outbox: AuditOutbox;
  /** The project's `auditOnPublishFailure` policy. */
  readonly failureModeFor: (project: string) => AuditPublishFailureMode;
  readonly logger: Logger;
}

export const auditUnavailable = (): PalisadeError =>
  new PalisadeError(503, "service_unavailable_error", "audit_unavailable", "The audit trail is unavailable, so the request was not served. Retry shortly.", {
    headers: { "retry-after": "5" },
  });

/**
 * Tries the primary publisher; when it fails, events of projects whose policy is `outbox` go to the
 * durable outbox (drained later by a timer), and if any event belongs to a `fail_closed` project
 * (or the outbox fails too) the publish rejects with 503 `audit_unavailable`. Nothing is dropped.
 */
export class OutboxAuditPublisher implements AuditPublisher {
  constructor(private readonly deps: OutboxAuditPublisherDeps) {}

  async publish(events: readonly AuditEvent[], options?: PublishOptions): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.deps.primary.publish(events, options);
      return;
    } catch (error) {
      this.deps.logger.warn("audit.publish.failed", { events: events.length, error: error instanceof Error ? error.name : "unknown" });
    }
    const toOutbox = events.filter((e) => this.deps.failureModeFor(e.project) === "outbox");
    const failClosed = toOutbox.length < events.length;
    if (toOutbox.length > 0) {
      try {
        await this.deps.outbox.put(toOutbox, options);
        this.deps.logger.info("audit.outbox.stored", { events: toOutbox.length });
      } catch (error) {
        this.deps.logger.error("audit.outbox.failed", { events: toOutbox.length, error: error instanceof Error ? error.name : "unknown" });
        throw auditUnavailable();
      }
    }
    if (failClosed) throw auditUnavailable();
  }

  async close(): Promise<void> {
    await this.deps.primary.close();
  }
}

export interface DrainOutboxResult {
  readonly republished: number;
  readonly failed: number;
}

/**
 * Republishes what the outbox holds, then deletes it. At-least-once: a crash between publish and
 * delete republishes, and the chain deduplicates by event id.
 */
export async function drainOutbox(
  deps: { outbox: AuditOutbox; publisher: AuditPublisher; logger: Logger },
  options: { batchSize?: number; maxEvents?: number; abortSignal?: AbortSignal } = {},
): Promise<DrainOutboxResult> {
  const batchSize = options.batchSize ?? 50;
  const maxEvents = options.maxEvents ?? 5_000;
  const signal = options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
  let republished = 0;
  let failed = 0;
  let batch: AuditEvent[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    try {
      await deps.publisher.publish(current, signal);
    } catch (error) {
      failed += current.length;
      deps.logger.warn("audit.outbox.drain_failed", { events: current.length, error: error instanceof Error ? error.name : "unknown" });
      return;
    }
    await deps.outbox.delete(current, signal);
    republished += current.length;
  };
  for await (const event of deps.outbox.list({ limit: maxEvents, ...signal })) {
    batch.push(event);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  if (republished + failed > 0) deps.logger.info("audit.outbox.drained", { republished, failed });
  return { republished, failed };
}
