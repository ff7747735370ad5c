import { type AuditPublisher } from "../../audit/AuditPublisher.js";
import { type Authenticator } from "../../auth/Authenticator.js";
import { type ResponseCache } from "../../cache/ResponseCache.js";
import { type Clock } from "../../clock.js";
import { type LimitGuard } from "../../limits/LimitGuard.js";
import { type Logger } from "../../logger.js";
import { type DataClass, type Policy, type ProjectPolicy } from "../../policy/schema.js";
import { type SubjectProtector } from "../../privacy/SubjectProtector.js";
import { type EndpointHealth } from "../../routing/EndpointHealth.js";
import { type GatewayTelemetry } from "../../telemetry/GatewayTelemetry.js";
import { type ContentSafetyStage } from "../../safety/ContentSafetyStage.js";
import { type ContentField } from "./Operation.js";

export interface PipelineDeps {
  readonly policy: Policy;
  readonly policyVersion: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newEventId: () => string;
  readonly authenticator: Authenticator;
  readonly limits: LimitGuard;
  readonly health: EndpointHealth;
  /** The publisher for a project: fail-closed, or backed by the durable outbox, per its policy. */
  readonly auditPublisherFor: (project: ProjectPolicy | null) => AuditPublisher;
  /**
   * Where a refusal goes when its project's own publisher cannot take it (a fail_closed project during a
   * Service Bus outage): the durable outbox, drained into the chain later. Absent, such a refusal is logged only.
   */
  readonly refusalFallback?: AuditPublisher;
  readonly cache: { readonly store: ResponseCache; readonly secret: Uint8Array } | null;
  /** HMAC key for input digests in audit events and the pseudonymous `user` sent upstream; null leaves both out. */
  readonly digestKey: Uint8Array | null;
  /** Pseudonymises and encrypts end-user ids for audit events (GDPR); null records no subject. */
  readonly subjects?: Pick<SubjectProtector, "protect"> | null;
  /** Traces and metrics of each request; absent, nothing is recorded (the caller's trace id still reaches the audit event). */
  readonly telemetry?: GatewayTelemetry;
  /**
   * Checks run after inspection and classification and before limits (content safety plugs in
   * here). A check refuses by throwing a PalisadeError; the pipeline records the refusal.
   */
  readonly checks?: readonly InputCheck[];
  /** Content safety on the output (plain answers, and streams in screened windows), for projects that ask. */
  readonly contentSafety?: ContentSafetyStage;
}

/** A stage between classify and limit: sees the inspected (redacted) contents, may raise the class or refuse. */
export interface InputCheck {
  readonly name: string;
  /** False when the check has nothing to do for this project and class: the pipeline skips it (no stage, no span). */
  applies?(project: ProjectPolicy, dataClass: DataClass): boolean;
  check(input: InputCheckInput): Promise<InputCheckVerdict | undefined>;
}

export interface InputCheckInput {
  readonly operation: string;
  readonly requestId: string;
  readonly project: ProjectPolicy;
  readonly dataClass: DataClass;
  /** The contents as they would go upstream (after redaction). */
  readonly contents: readonly ContentField[];
}

export interface InputCheckVerdict {
  /** Raises (never lowers) the request's class. */
  readonly raiseClassTo?: DataClass;
  /** What the request's events record of the check (a flagged finding, a fail-open pass): names and numbers, never content. */
  readonly auditDetails?: Readonly<Record<string, string | number | boolean | null>>;
  /** The check's outcome in one word, for telemetry (`allow`, `flag`, `failed_open`). */
  readonly outcome?: string;
}
