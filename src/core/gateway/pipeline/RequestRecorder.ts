import { type AuditEvent } from "../../audit/AuditEvent.js";
import { type AuditPublisher } from "../../audit/AuditPublisher.js";
import { PalisadeError } from "../../errors.js";
import { type Logger } from "../../logger.js";
import { type ProjectPolicy } from "../../policy/schema.js";
import { type RequestTelemetry } from "../../telemetry/GatewayTelemetry.js";

export const auditUnavailable = (): PalisadeError =>
  new PalisadeError(503, "service_unavailable_error", "audit_unavailable", "Palisade could not record this request in the audit trail, so it was not completed. Retry shortly.", {
    headers: { "retry-after": "5" },
  });

export interface RecorderDeps {
  /** The publisher for a project: fail-closed, or backed by the durable outbox, per its policy. */
  readonly auditPublisherFor: (project: ProjectPolicy | null) => AuditPublisher;
  /** Takes a refusal the project's publisher could not (the durable outbox), so the refusal is still recorded. */
  readonly refusalFallback?: AuditPublisher;
  readonly logger: Logger;
}

/** An admission record on its way: `durable` settles when it is stored (rejects with 503 audit_unavailable). */
export interface Admission {
  readonly eventId: string;
  readonly durable: Promise<void>;
  /** Already durable when handed over (fail_closed): nothing the call overlaps can still fail it. */
  readonly confirmed: boolean;
}

/**
 * Publishes a request's audit events with the guarantees of its project's mode (docs/audit.md):
 * - `fail_closed`: the admission is durable BEFORE the upstream call starts, and the outcome before
 *   the answer is released; either failing refuses the request (503 audit_unavailable).
 * - `outbox`: the admission is published WHILE the upstream call runs (its round trip overlaps the
 *   model's answer); the answer is still released only once it is durable (Service Bus or outbox).
 */
export class RequestRecorder {
  constructor(private readonly deps: RecorderDeps) {}

  /** Starts publishing the admission; for fail_closed projects it resolves only once durable. */
  async admit(telemetry: RequestTelemetry, project: ProjectPolicy, event: AuditEvent): Promise<Admission> {
    const durable = this.publish(telemetry, project, [event]);
    if (project.auditOnPublishFailure === "fail_closed") {
      await durable;
      return { eventId: event.eventId, durable, confirmed: true };
    }
    // Observed now so that a failure before anyone awaits it is not an unhandled rejection.
    durable.catch(() => undefined);
    return { eventId: event.eventId, durable, confirmed: false };
  }

  /** Publishes events and resolves once they are durable; rejects with 503 audit_unavailable (logged, counted). */
  async publish(telemetry: RequestTelemetry, project: ProjectPolicy | null, events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await telemetry.stage("audit_publish", () => this.deps.auditPublisherFor(project).publish(events));
    } catch {
      telemetry.auditPublishFailed(project?.id);
      this.deps.logger.error("audit events could not be published", { project: project?.id ?? null, events: events.length, eventIds: events.map((event) => event.eventId) });
      throw auditUnavailable();
    }
  }

  /**
   * Publishes and never throws: for a refused request's records. When the project's publisher cannot take
   * them (fail_closed during an outage) they go to the fallback (the durable outbox), so the refusal, and
   * the correction of an outcome whose acknowledgement was lost, still reach the chain. False when neither did.
   */
  async publishBestEffort(telemetry: RequestTelemetry, project: ProjectPolicy | null, events: readonly AuditEvent[]): Promise<boolean> {
    try {
      await this.publish(telemetry, project, events);
      return true;
    } catch {
      const fallback = this.deps.refusalFallback;
      if (fallback === undefined || events.length === 0) return false;
      try {
        await fallback.publish(events);
        return true;
      } catch {
        return false;
      }
    }
  }
}
