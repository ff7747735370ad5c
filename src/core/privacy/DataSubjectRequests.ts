import { type AuditEvent, SYSTEM_CHAIN_ID } from "../audit/AuditEvent.js";
import { type AuditLedger } from "../audit/AuditLedger.js";
import { type AuditPublisher } from "../audit/AuditPublisher.js";
import { queryAuditEvents } from "../audit/queryAuditEvents.js";
import { type Clock } from "../clock.js";
import { AuditEventFactory } from "../audit/AuditEventFactory.js";
import { type Logger } from "../logger.js";
import { type SubjectOpener, type SubjectProtector } from "./SubjectProtector.js";
import { normalizeSubjectId } from "./subjectOf.js";

export interface DataSubjectRequestsDeps {
  readonly ledger: AuditLedger;
  readonly protector: SubjectProtector;
  /** Publishes the DSR's own audit event to the `_system` chain; must fail closed. */
  readonly publisher: AuditPublisher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newEventId: () => string;
  readonly policyVersion: string;
  /** Who acted (`cli`, an operator id). */
  readonly actorId: string;
}

export interface DsrOptions {
  readonly abortSignal?: AbortSignal;
}

export interface SubjectExport {
  readonly format: "palisade-dsr-export/v1";
  /** HMAC reference of the subject (what the DSR audit events name instead of the id). */
  readonly subjectRef: string;
  /** false when the subject has no key: never seen, or erased. Nothing can then be read. */
  readonly keyPresent: boolean;
  readonly exportedAt: string;
  /** Every event about the subject, with `subject` decrypted back to the id. */
  readonly events: readonly AuditEvent[];
}

export interface SubjectErasure {
  readonly subjectRef: string;
  /** true when a key was destroyed now; false when there was none (never seen, or already erased). */
  readonly keyDestroyed: boolean;
  /** Events that were about the subject before the erasure (now unreadable and unlinkable). */
  readonly eventsAffected: number;
}

/**
 * GDPR data-subject requests over the audit trail. Events carry the subject only pseudonymised and
 * encrypted under a per-subject key, so: export finds events by the subject's pseudonym and decrypts
 * them; erasure destroys the key (crypto-shredding). The chain is never rewritten, so it still
 * verifies. Each request is itself an audit event on `_system` naming the subject's HMAC reference,
 * never the id, and is published before anything is handed out (fail closed).
 */
export class DataSubjectRequests {
  private readonly events: AuditEventFactory;

  constructor(private readonly deps: DataSubjectRequestsDeps) {
    this.events = new AuditEventFactory({ clock: deps.clock, newEventId: deps.newEventId, policyVersion: deps.policyVersion });
  }

  async export(subjectId: string, options: DsrOptions = {}): Promise<SubjectExport> {
    const id = normalizeSubjectId(subjectId);
    const opener = await this.deps.protector.openerFor(id, options);
    const subjectRef = opener?.keyRef ?? this.deps.protector.keyRefOf(id);
    const events = opener === null ? [] : await this.find(opener, true, options);
    await this.record("dsr_exported", subjectRef, { keyPresent: opener !== null, events: events.length }, options);
    this.deps.logger.info("dsr.exported", { events: events.length, keyPresent: opener !== null });
    return { format: "palisade-dsr-export/v1", subjectRef, keyPresent: opener !== null, exportedAt: new Date(this.deps.clock.nowInMs()).toISOString(), events };
  }

  async erase(subjectId: string, options: DsrOptions = {}): Promise<SubjectErasure> {
    const id = normalizeSubjectId(subjectId);
    const opener = await this.deps.protector.openerFor(id, options);
    const subjectRef = opener?.keyRef ?? this.deps.protector.keyRefOf(id);
    const eventsAffected = opener === null ? 0 : (await this.find(opener, false, options)).length;
    const keyDestroyed = await this.deps.protector.destroy(id, options);
    try {
      await this.record("dsr_erased", subjectRef, { keyDestroyed, events: eventsAffected }, options);
    } catch (error) {
      // The key is gone (that cannot be undone); say so, so the operator reruns to record it.
      throw new Error(`The subject's key was ${keyDestroyed ? "destroyed" : "already gone"}, but the dsr_erased audit event could not be published: run the erase again to record it.`, { cause: error });
    }
    this.deps.logger.info("dsr.erased", { events: eventsAffected, keyDestroyed });
    return { subjectRef, keyDestroyed, eventsAffected };
  }

  /** Every event whose `subject` carries this subject's pseudonym and decrypts to it. */
  private async find(opener: SubjectOpener, reveal: boolean, options: DsrOptions): Promise<AuditEvent[]> {
    const prefix = `${opener.pseudonym}:`;
    const found: AuditEvent[] = [];
    for await (const event of queryAuditEvents(this.deps.ledger, options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal })) {
      if (event.subject?.startsWith(prefix) !== true) continue;
      const clear = opener.reveal(event.subject);
      if (clear === null) continue;
      found.push(reveal ? { ...event, subject: clear } : event);
    }
    return found;
  }

  private async record(type: "dsr_exported" | "dsr_erased", subjectRef: string, details: Record<string, number | boolean>, options: DsrOptions): Promise<void> {
    const event = this.events.create({
      type,
      status: "success",
      project: SYSTEM_CHAIN_ID,
      actor: { kind: "system", id: this.deps.actorId },
      details: { subjectRef, ...details },
    });
    await this.deps.publisher.publish([event], options);
  }
}
