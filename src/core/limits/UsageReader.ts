import { FIELD, operationFieldsOf, parseRollupSuffix, periodPrefix, projectPeriodKey, type RollupDimension, type RollupPeriod } from "./counterKeys.js";
import { type CounterValues, HOLD_PREFIX, holdOf, type UsageCounterStore } from "./UsageCounterStore.js";

/** Spend and tokens for one project and one UTC day or month, from the rollups written at settle time. */

export interface UsageQuery {
  readonly project: string;
  readonly period: RollupPeriod;
  /** `YYYY-MM-DD` for a day, `YYYY-MM` for a month. */
  readonly date: string;
  /** The instant holds are judged expired against (epoch ms; default: none is). */
  readonly asOfInMs?: number;
}

/** Budget one instance holds for the period (its reservations in flight and its lease). */
export interface UsageHold {
  readonly owner: string;
  readonly heldUsd: number;
  /** When it is given back unless its owner renews it (ISO 8601, UTC). */
  readonly expiresAt: string;
  /** Past its expiry: its owner stopped renewing (crashed); the next sweep gives it back. */
  readonly expired: boolean;
}

export interface UsageFigures {
  readonly requests: number;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  /** Requests whose model had no price (counted at $0). */
  readonly unpricedRequests: number;
}

export interface UsageLine extends UsageFigures {
  readonly name: string;
}

export interface UsageReport {
  readonly project: string;
  readonly period: RollupPeriod;
  readonly date: string;
  readonly total: UsageFigures;
  /** USD held by reservations not yet settled (in flight, or left by a crashed instance). */
  readonly reservedUsd: number;
  /** Who holds `reservedUsd`, and until when. */
  readonly holds: readonly UsageHold[];
  readonly byKey: readonly UsageLine[];
  readonly byModel: readonly UsageLine[];
  readonly byTag: readonly UsageLine[];
  /** By operation (`chat`, `embeddings`, `responses`), from the project's row; usage settled before operations were counted is in no line. */
  readonly byOperation: readonly UsageLine[];
}

export interface UsageReader {
  getUsage(query: UsageQuery): Promise<UsageReport>;
}

const figures = (values: CounterValues | undefined): UsageFigures => ({
  requests: values?.[FIELD.requests] ?? 0,
  inputTokens: values?.[FIELD.inputTokens] ?? 0,
  cachedInputTokens: values?.[FIELD.cachedInputTokens] ?? 0,
  outputTokens: values?.[FIELD.outputTokens] ?? 0,
  costUsd: (values?.[FIELD.usd] ?? 0) / 1_000_000,
  unpricedRequests: values?.[FIELD.unpricedRequests] ?? 0,
});

export function isUsageDate(period: RollupPeriod, date: string): boolean {
  return period === "day" ? /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(date) : /^\d{4}-(0[1-9]|1[0-2])$/.test(date);
}

/** Reads reports straight from the counter store: one range query per report. */
export class CounterUsageReader implements UsageReader {
  constructor(private readonly store: UsageCounterStore) {}

  async getUsage(query: UsageQuery): Promise<UsageReport> {
    if (!isUsageDate(query.period, query.date)) throw new RangeError(`"${query.date}" is not a ${query.period === "day" ? "YYYY-MM-DD date" : "YYYY-MM month"}`);
    const prefix = periodPrefix(query.period, { day: query.date, month: query.date });
    let projectValues: CounterValues | undefined;
    const lines: Record<RollupDimension, UsageLine[]> = { key: [], model: [], tag: [] };
    for await (const row of this.store.list(query.project, prefix)) {
      const suffix = row.key.slice(prefix.length);
      if (suffix === "p") {
        projectValues = row.values;
        continue;
      }
      const parsed = parseRollupSuffix(suffix);
      if (parsed !== null) lines[parsed.dimension].push({ name: parsed.value, ...figures(row.values) });
    }
    const periodKey = projectPeriodKey(query.period, { day: query.date, month: query.date });
    const holds: UsageHold[] = [];
    for await (const row of this.store.list(query.project, HOLD_PREFIX)) {
      const hold = holdOf(row);
      const micros = hold?.values[FIELD.usdReserved] ?? 0;
      if (hold === null || hold.key !== periodKey || micros === 0) continue;
      holds.push({ owner: hold.owner, heldUsd: micros / 1_000_000, expiresAt: new Date(hold.expiresAtMs).toISOString(), expired: query.asOfInMs !== undefined && hold.expiresAtMs < query.asOfInMs });
    }
    const byCost = (a: UsageLine, b: UsageLine): number => b.costUsd - a.costUsd || a.name.localeCompare(b.name);
    return {
      project: query.project,
      period: query.period,
      date: query.date,
      total: figures(projectValues),
      reservedUsd: (projectValues?.[FIELD.usdReserved] ?? 0) / 1_000_000,
      holds,
      byKey: lines.key.sort(byCost),
      byModel: lines.model.sort(byCost),
      byTag: lines.tag.sort(byCost),
      byOperation: [...operationFieldsOf(projectValues ?? {})].map(([name, values]) => ({ name, ...figures(values) })).sort(byCost),
    };
  }
}
