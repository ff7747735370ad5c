import { type AuditEvent } from "../audit/AuditEvent.js";
import { type Anomaly } from "./ComplianceSummary.js";
import { actorKeyOf, isRequestEvent } from "./eventClasses.js";

export interface AnomalyOptions {
  /** A spike is flagged only when the day's count is at least this (requests, blocked). */
  readonly minRequests?: number;
  readonly minBlocked?: number;
  /** How far (in baseline standard deviations) the day must depart. */
  readonly zThreshold?: number;
  /** A spike must also be at least this multiple of the baseline mean. */
  readonly minRatio?: number;
}

export const ANOMALY_DEFAULTS = { minRequests: 20, minBlocked: 5, zThreshold: 3, minRatio: 2 } as const;

interface ActorCounts {
  requests: number;
  blocked: number;
}

function countByActor(events: readonly AuditEvent[]): Map<string, ActorCounts> {
  const counts = new Map<string, ActorCounts>();
  for (const event of events) {
    if (!isRequestEvent(event)) continue;
    const key = actorKeyOf(event);
    const entry = counts.get(key) ?? { requests: 0, blocked: 0 };
    entry.requests += 1;
    if (event.status === "blocked") entry.blocked += 1;
    counts.set(key, entry);
  }
  return counts;
}

const round = (value: number): number => Math.round(value * 100) / 100;

/**
 * Actors whose request volume or blocked-request count departs sharply from their own trailing days.
 *
 * For each actor and metric, the baseline is the count on each trailing day (a day without events
 * counts as 0): mean μ and population standard deviation σ. The spread used is max(σ, √max(μ, 1)),
 * a Poisson floor, so that a perfectly flat baseline does not turn a small wobble into a huge z.
 * A **spike**: count ≥ the metric's minimum, z = (count − μ) / spread ≥ zThreshold, and count ≥
 * minRatio × μ. A **drop** (volume only): μ ≥ minRequests, z ≤ −zThreshold and count ≤ μ / minRatio².
 * When the trailing days hold no requests at all (a new chain), there is no baseline and nothing is flagged.
 */
export function detectAnomalies(day: readonly AuditEvent[], trailingDays: readonly (readonly AuditEvent[])[], options: AnomalyOptions = {}): Anomaly[] {
  const settings = { ...ANOMALY_DEFAULTS, ...options };
  const today = countByActor(day);
  const history = trailingDays.map(countByActor);
  // No baseline at all (a chain's first days): every busy actor would look new. Nothing to compare.
  if (history.every((counts) => counts.size === 0)) return [];
  const actors = new Set<string>(today.keys());
  for (const counts of history) for (const actor of counts.keys()) actors.add(actor);

  const anomalies: Anomaly[] = [];
  for (const actor of [...actors].sort()) {
    for (const metric of ["requests", "blocked"] as const) {
      const count = today.get(actor)?.[metric] ?? 0;
      const baseline = history.map((counts) => counts.get(actor)?.[metric] ?? 0);
      const n = Math.max(1, baseline.length);
      const mean = baseline.reduce((a, b) => a + b, 0) / n;
      const variance = baseline.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
      const stdDev = Math.sqrt(variance);
      const spread = Math.max(stdDev, Math.sqrt(Math.max(mean, 1)));
      const z = (count - mean) / spread;
      const newActor = history.every((counts) => !counts.has(actor));
      const minimum = metric === "requests" ? settings.minRequests : settings.minBlocked;
      let direction: Anomaly["direction"] | null = null;
      if (count >= minimum && z >= settings.zThreshold && count >= settings.minRatio * mean) direction = "spike";
      else if (metric === "requests" && mean >= settings.minRequests && z <= -settings.zThreshold && count <= mean / settings.minRatio ** 2) direction = "drop";
      if (direction === null) continue;
      anomalies.push({ actor, metric, direction, count, baselineMean: round(mean), baselineStdDev: round(stdDev), zScore: round(z), newActor });
    }
  }
  return anomalies;
}
