import { type AuditEvent, type AuditEventType } from "../audit/AuditEvent.js";
import { type AuditEventFactory, actorOf } from "../audit/AuditEventFactory.js";
import { type AuditPublisher } from "../audit/AuditPublisher.js";
import { type UserPrincipal } from "../auth/Principal.js";
import { type Logger } from "../logger.js";
import { type ProjectPolicy } from "../policy/schema.js";
import { type AdminCaller } from "./AdminAccess.js";
import { adminAuditUnavailable } from "./adminErrors.js";

export type AdminEventDetails = Readonly<Record<string, string | number | boolean | null>>;

/**
 * The admin API's audit events, published fail-closed before a change takes effect: an action whose
 * event cannot be published is not carried out (503), and a key created just before is revoked again.
 */
export class AdminAuditTrail {
  constructor(
    private readonly deps: {
      /** Fail-closed publisher. */
      readonly audit: AuditPublisher;
      readonly events: Pick<AuditEventFactory, "create">;
      readonly revokeKey: (keyId: string) => Promise<unknown>;
      readonly logger: Logger;
    },
  ) {}

  event(type: AuditEventType, principal: UserPrincipal, project: ProjectPolicy, caller: AdminCaller, details: AdminEventDetails, reason?: string): AuditEvent {
    return this.deps.events.create({
      type,
      actor: actorOf(principal),
      project: project.id,
      environment: project.environment,
      status: "success",
      requestId: caller.requestId,
      ...(reason === undefined ? {} : { reason }),
      details: { ...details, actor: principal.id },
    });
  }

  async publish(events: readonly AuditEvent[]): Promise<void> {
    try {
      await this.deps.audit.publish(events);
    } catch (error) {
      this.deps.logger.warn("admin action refused: audit trail unavailable", { events: events.length, types: events.map((event) => event.type) });
      throw adminAuditUnavailable(error);
    }
  }

  /** Publishes, or revokes the key just created so that no unaudited key exists, and answers 503. */
  async publishOrUndo(events: readonly AuditEvent[], createdKeyId: string): Promise<void> {
    try {
      await this.publish(events);
    } catch (error) {
      await this.deps.revokeKey(createdKeyId).catch(() => {
        this.deps.logger.error("could not revoke an API key whose creation was not audited", { keyId: createdKeyId, alert: true });
      });
      throw error;
    }
  }
}
