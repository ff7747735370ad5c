import { AUDIT_EVENT_TYPES, type AuditEvent, type AuditEventType } from "../audit/AuditEvent.js";
import { operationKindOf } from "../policy/operationsPolicy.js";
import {
  COMPLIANCE_SUMMARY_SCHEMA,
  type ChainIntegrity,
  type ComplianceSummary,
  type Counts,
  type ModelInUse,
  type UsageTotals,
} from "./ComplianceSummary.js";
import { countContentSafety } from "./contentSafetyCounts.js";
import { type AnomalyOptions, detectAnomalies } from "./detectAnomalies.js";
import { actorKeyOf, isRefusalEvent, isRequestEvent } from "./eventClasses.js";
import { soc2Mapping } from "./soc2Mapping.js";
import { type UtcDay } from "./utcDay.js";

export interface SummarizeDayInput {
  readonly chainId: string;
  readonly day: UtcDay;
  /** The chain's events; those outside the day (by the event's own `ts`) are ignored. */
  readonly events: readonly AuditEvent[];
  /** The trailing days' events, most recent first or in any order: one array per day (7 by default). */
  readonly trailingDays: readonly (readonly AuditEvent[])[];
  readonly integrity: ChainIntegrity;
  readonly generatedAtInMs: number;
  /** Project id -> its policy tags (events carry no tags; the policy in force when the report runs supplies them). */
  readonly projectTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly anomalyOptions?: AnomalyOptions;
}

interface ModelUse {
  readonly deployments: Set<string>;
  readonly endpoints: Set<string>;
  readonly regions: Set<string>;
  calls: number;
}

const bump = (counts: Counts, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

/** Sums of float costs, rounded to a millionth of a dollar so the JSON is stable. */
const roundUsd = (value: number): number => Math.round(value * 1e6) / 1e6;

const emptyUsage = (): UsageTotals => ({ requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });

function addUsage(groups: Record<string, UsageTotals>, key: string, event: AuditEvent, isRequest: boolean): void {
  const usage = (groups[key] ??= emptyUsage());
  if (isRequest) usage.requests += 1;
  usage.inputTokens += event.tokens?.input ?? 0;
  usage.outputTokens += event.tokens?.output ?? 0;
  usage.costUsd += event.costUsd ?? 0;
}

function roundGroups(groups: Record<string, UsageTotals>): Record<string, UsageTotals> {
  for (const usage of Object.values(groups)) usage.costUsd = roundUsd(usage.costUsd);
  return sortKeys(groups);
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const inDay = (day: UtcDay) => (event: AuditEvent): boolean => {
  const ms = Date.parse(event.ts);
  return ms >= day.startInMs && ms < day.endInMs;
};

const stringDetail = (event: AuditEvent, key: string): string | null => {
  const value = event.details?.[key];
  return typeof value === "string" ? value : null;
};

/**
 * The day's summary of one chain: a pure function over the day's events (and the trailing days'
 * for anomalies), the chain-integrity result, and the SOC 2 mapping of it all.
 */
export function summarizeDay(input: SummarizeDayInput): ComplianceSummary {
  const events = input.events.filter(inDay(input.day));
  const byType = Object.fromEntries(AUDIT_EVENT_TYPES.map((type) => [type, 0])) as Record<AuditEventType, number>;
  const byStatus = { success: 0, error: 0, blocked: 0 };
  const byHttpStatus: Counts = {};
  const actors = new Set<string>();
  let cacheHits = 0;
  const tokens = { input: 0, cachedInput: 0, output: 0, total: 0 };
  let totalUsd = 0;
  const byProject: Record<string, UsageTotals> = {};
  const byModel: Record<string, UsageTotals> = {};
  const byDeployment: Record<string, UsageTotals> = {};
  const byOperation: Record<string, UsageTotals> = {};
  const byTag: Record<string, UsageTotals> = {};
  const refusals = { total: 0, byType: {} as Counts, byReason: {} as Counts };
  const violations = { total: 0, byReason: {} as Counts };
  const authFailures = { total: 0, byReason: {} as Counts };
  const dlp = { eventsWithFindings: 0, findingsByEntityType: {} as Counts, byAction: {} as Counts, blocked: 0 };
  const resilience = { failovers: 0, failoversByReason: {} as Counts, failoverRoutes: {} as Counts, residencyBlocks: 0, upstreamErrors: 0 };
  const keys = { expiring: 0, expiringBySeverity: {} as Counts, created: 0, rotated: 0, revoked: 0, rotationFailed: 0 };
  const credentials = new Set<string>();
  const subjects = new Set<string>();
  const versions: Counts = {};
  const inventory = new Map<string, Map<string, ModelUse>>();
  let requestTotal = 0;
  let limitsUnenforced = 0;

  for (const event of events) {
    byType[event.type] += 1;
    bump(versions, event.policyVersion);
    if (event.subject !== undefined) subjects.add(event.subject.split(":")[0] ?? "");
    const request = isRequestEvent(event);
    if (request) {
      requestTotal += 1;
      byStatus[event.status] += 1;
      if (event.httpStatus !== undefined) bump(byHttpStatus, String(event.httpStatus));
      if (event.actor.kind !== "anonymous") actors.add(actorKeyOf(event));
      if (event.details?.cache === "hit") cacheHits += 1;
      if (event.reason === "sensitive_data_detected") dlp.blocked += 1;
      if (event.reason === "upstream_error") resilience.upstreamErrors += 1;
      if (event.details?.limitsEnforced === false) limitsUnenforced += 1;
    }
    if (isRefusalEvent(event)) {
      refusals.total += 1;
      bump(refusals.byType, event.type);
      bump(refusals.byReason, event.reason ?? "unspecified");
    }
    if (event.tokens !== undefined) {
      tokens.input += event.tokens.input;
      tokens.cachedInput += event.tokens.cachedInput ?? 0;
      tokens.output += event.tokens.output;
    }
    totalUsd += event.costUsd ?? 0;
    if (request || event.tokens !== undefined || event.costUsd !== undefined) {
      addUsage(byProject, event.project, event, request);
      if (event.model !== undefined) addUsage(byModel, event.model, event, request);
      if (event.deployment !== undefined) addUsage(byDeployment, event.deployment, event, request);
      const operation = stringDetail(event, "operation");
      if (operation !== null) addUsage(byOperation, operationKindOf(operation), event, request);
      for (const [tag, value] of Object.entries(input.projectTags?.[event.project] ?? {})) addUsage(byTag, `${tag}=${value}`, event, request);
    }
    if (event.dlpFindings !== undefined) {
      const found = Object.values(event.dlpFindings).reduce((a, b) => a + b, 0);
      if (found > 0) dlp.eventsWithFindings += 1;
      for (const [type, count] of Object.entries(event.dlpFindings)) bump(dlp.findingsByEntityType, type, count);
    }
    if (event.dlpAction !== undefined) bump(dlp.byAction, event.dlpAction);

    switch (event.type) {
      case "policy_violation":
        violations.total += 1;
        bump(violations.byReason, event.reason ?? "unspecified");
        break;
      case "auth_failed":
        authFailures.total += 1;
        bump(authFailures.byReason, event.reason ?? "unspecified");
        break;
      case "fallback_triggered": {
        resilience.failovers += 1;
        bump(resilience.failoversByReason, event.reason ?? "unspecified");
        const from = stringDetail(event, "fromEndpoint");
        const to = stringDetail(event, "toEndpoint");
        if (from !== null && to !== null) bump(resilience.failoverRoutes, `${from} -> ${to}`);
        break;
      }
      case "residency_blocked":
        resilience.residencyBlocks += 1;
        break;
      case "key_expiring":
        keys.expiring += 1;
        bump(keys.expiringBySeverity, stringDetail(event, "severity") ?? "UNKNOWN");
        break;
      case "key_created":
        keys.created += 1;
        break;
      case "key_rotated":
        keys.rotated += 1;
        break;
      case "key_revoked":
        keys.revoked += 1;
        break;
      case "rotation_failed":
        keys.rotationFailed += 1;
        break;
      case "api_call":
        if (event.model !== undefined) {
          const models = inventory.get(event.project) ?? new Map<string, ModelUse>();
          const use: ModelUse = models.get(event.model) ?? { deployments: new Set<string>(), endpoints: new Set<string>(), regions: new Set<string>(), calls: 0 };
          use.calls += 1;
          if (event.deployment !== undefined) use.deployments.add(event.deployment);
          if (event.endpointId !== undefined) use.endpoints.add(event.endpointId);
          if (event.region !== undefined) use.regions.add(event.region);
          models.set(event.model, use);
          inventory.set(event.project, models);
        }
        break;
      default:
        break;
    }
    if (event.type.startsWith("key_") || event.type === "rotation_failed") {
      const credential = stringDetail(event, "credentialId");
      if (credential !== null) credentials.add(credential);
    }
  }
  tokens.total = tokens.input + tokens.output;

  const modelInventory: Record<string, ModelInUse[]> = {};
  for (const [project, models] of [...inventory.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    modelInventory[project] = [...models.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([model, use]) => ({ model, deployments: [...use.deployments].sort(), endpoints: [...use.endpoints].sort(), regions: [...use.regions].sort(), calls: use.calls }));
  }

  const trailing = input.trailingDays;
  const withoutSoc2: Omit<ComplianceSummary, "soc2"> = {
    schema: COMPLIANCE_SUMMARY_SCHEMA,
    chainId: input.chainId,
    period: { date: input.day.date, since: new Date(input.day.startInMs).toISOString(), until: new Date(input.day.endInMs).toISOString() },
    generatedAt: new Date(input.generatedAtInMs).toISOString(),
    events: { total: events.length, byType },
    requests: { total: requestTotal, byStatus, byHttpStatus: sortKeys(byHttpStatus), distinctActors: actors.size, cacheHits },
    tokens,
    cost: { totalUsd: roundUsd(totalUsd), byProject: roundGroups(byProject), byModel: roundGroups(byModel), byDeployment: roundGroups(byDeployment), byOperation: roundGroups(byOperation), byTag: roundGroups(byTag) },
    refusals: { total: refusals.total, byType: sortKeys(refusals.byType), byReason: sortKeys(refusals.byReason) },
    policyViolations: { total: violations.total, byReason: sortKeys(violations.byReason) },
    authFailures: { total: authFailures.total, byReason: sortKeys(authFailures.byReason) },
    dlp: { ...dlp, findingsByEntityType: sortKeys(dlp.findingsByEntityType), byAction: sortKeys(dlp.byAction) },
    limits: { rateLimited: byType.rate_limited, budgetExceeded: byType.budget_exceeded, budgetWarnings: byType.budget_warning, unenforced: limitsUnenforced },
    resilience: { ...resilience, failoversByReason: sortKeys(resilience.failoversByReason), failoverRoutes: sortKeys(resilience.failoverRoutes) },
    keys: { ...keys, expiringBySeverity: sortKeys(keys.expiringBySeverity), credentials: [...credentials].sort() },
    privacy: { subjectsSeen: subjects.size, dsrExported: byType.dsr_exported, dsrErased: byType.dsr_erased },
    policy: { versions: sortKeys(versions), policyChanged: byType.policy_changed, modelChanged: byType.model_changed },
    contentSafety: countContentSafety(events),
    modelInventory,
    anomalies: detectAnomalies(events, trailing, input.anomalyOptions),
    integrity: input.integrity,
  };
  return { ...withoutSoc2, soc2: soc2Mapping(withoutSoc2) };
}
