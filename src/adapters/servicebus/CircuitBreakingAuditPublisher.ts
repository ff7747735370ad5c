import { type AuditEvent } from "../../core/audit/AuditEvent.js";
import { type AuditPublisher, type PublishOptions } from "../../core/audit/AuditPublisher.js";
import { type Logger } from "../../core/logger.js";
import { type CircuitBreaker } from "../../core/resilience/CircuitBreaker.js";

/** Publishing was not tried (the breaker is open) or did not finish in time: the caller's fallback applies. */
export class AuditPublishUnavailableError extends Error {
  override readonly name = "AuditPublishUnavailableError";
}

export interface CircuitBreakingAuditPublisherOptions {
  readonly breaker: CircuitBreaker;
  /** The longest one publish may wait for the broker (the SDK's own retries included). */
  readonly timeoutInMs: number;
  /**
   * The deadline until the first publish succeeds: opening the connection and link (and the CBS
   * handshake) takes longer than a send on an open link, and must not count as a partition.
   */
  readonly firstTimeoutInMs?: number;
  readonly logger: Logger;
}

/**
 * Bounds the request path's wait for Service Bus. Each publish gets `timeoutInMs`; the first one that
 * fails or runs out of time opens the breaker, and while it is open every publish rejects at once (so
 * `OutboxAuditPublisher` stores to the outbox, or answers a fast 503 in `fail_closed`) — except one probe
 * per `openForInMs`, whose success closes it again. A send that outlives its deadline may still land in
 * the broker after the event went to the outbox: the chain deduplicates by event id.
 */
export class CircuitBreakingAuditPublisher implements AuditPublisher {
  private connected = false;

  constructor(
    private readonly inner: AuditPublisher,
    private readonly options: CircuitBreakingAuditPublisherOptions,
  ) {}

  async publish(events: readonly AuditEvent[], options: PublishOptions = {}): Promise<void> {
    const { breaker, logger } = this.options;
    const timeoutInMs = this.connected ? this.options.timeoutInMs : (this.options.firstTimeoutInMs ?? this.options.timeoutInMs);
    if (!breaker.permit()) throw new AuditPublishUnavailableError("Service Bus is unavailable (circuit open); not tried");
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AuditPublishUnavailableError(`Service Bus did not accept the events within ${timeoutInMs} ms`)), timeoutInMs);
    });
    const sending = this.inner.publish(events, options);
    try {
      await Promise.race([sending, deadline]);
      this.connected = true;
      breaker.succeeded();
    } catch (error) {
      // The send may still settle later; never let its rejection go unhandled.
      sending.catch(() => undefined);
      // An event too large for a message says nothing about the broker's health.
      if (error instanceof RangeError) throw error;
      if (breaker.failed()) logger.error("dependency.unavailable", { dependency: "service-bus", error: error instanceof Error ? error.name : "unknown", breaker: "open" });
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
