import { type AuditEvent } from "../audit/AuditEvent.js";
import { type AuditPublisher } from "../audit/AuditPublisher.js";
import { type RequestAuditEvents } from "../audit/requestAuditEvents.js";
import { type LimitGuard } from "../limits/LimitGuard.js";
import { type Policy, type ProjectPolicy } from "../policy/schema.js";

export interface UsageFlushDeps {
  readonly policy: Policy;
  readonly limits: Pick<LimitGuard, "flush" | "close">;
  readonly events: Pick<RequestAuditEvents, "budgetWarning">;
  readonly auditPublisherFor: (project: ProjectPolicy | null) => AuditPublisher;
}

/**
 * Writes the usage settled since the last write and hands back unused leases (a timer runs it;
 * `everything` before the instance stops). Budget thresholds the write crossed become
 * `budget_warning` events, published like any request's: a warning is never only a log line.
 * Events that could not be published are kept and published first on the next run.
 */
export class UsageFlush {
  private readonly unpublished: { readonly project: ProjectPolicy; readonly event: AuditEvent }[] = [];

  constructor(private readonly deps: UsageFlushDeps) {}

  async run(options: { readonly everything?: boolean } = {}): Promise<void> {
    const warnings = options.everything === true ? await this.deps.limits.close() : await this.deps.limits.flush();
    for (const warning of warnings) {
      const project = this.deps.policy.projects.find((candidate) => candidate.id === warning.project);
      if (project !== undefined) this.unpublished.push({ project, event: this.deps.events.budgetWarning(project, warning) });
    }
    const waiting = this.unpublished.splice(0);
    const failed: unknown[] = [];
    for (const project of new Set(waiting.map(({ project }) => project))) {
      const mine = waiting.filter((item) => item.project === project);
      try {
        await this.deps.auditPublisherFor(project).publish(mine.map(({ event }) => event));
      } catch (error) {
        this.unpublished.push(...mine);
        failed.push(error);
      }
    }
    if (failed.length > 0) throw new AggregateError(failed, `${this.unpublished.length} budget warning event(s) not published yet; they are retried on the next flush`);
  }
}
