import { type RollupDimension, type RollupPeriod, projectPeriodKey, rollupKey } from "./counterKeys.js";
import { type Windows } from "./windows.js";

/** Past this many rollup keys in one period the cache stops growing (keys are still built, just not kept). */
const MAX_CACHED_KEYS = 4_096;

/**
 * The project and rollup row keys of one day or month, built once: every settlement of a period
 * writes the same few (its key, model and tags), and building them is ~8 strings a request.
 */
export class PeriodKeys {
  readonly project: string;
  private readonly byDimension: Record<RollupDimension, Map<string, string>> = { key: new Map(), model: new Map(), tag: new Map() };
  private cached = 0;

  constructor(
    private readonly period: RollupPeriod,
    private readonly windows: Pick<Windows, "day" | "month">,
  ) {
    this.project = projectPeriodKey(period, windows);
  }

  rollup(dimension: RollupDimension, value: string): string {
    const keys = this.byDimension[dimension];
    let key = keys.get(value);
    if (key === undefined) {
      key = rollupKey(this.period, this.windows, dimension, value);
      if (this.cached < MAX_CACHED_KEYS) {
        keys.set(value, key);
        this.cached += 1;
      }
    }
    return key;
  }
}

const current: Record<RollupPeriod, { window: string; keys: PeriodKeys } | null> = { day: null, month: null };

/** The keys of the period `windows` falls in; a new period starts a new cache (the old one is dropped). */
export function periodKeysFor(period: RollupPeriod, windows: Pick<Windows, "day" | "month">): PeriodKeys {
  const window = period === "day" ? windows.day : windows.month;
  const slot = current[period];
  if (slot !== null && slot.window === window) return slot.keys;
  const keys = new PeriodKeys(period, windows);
  current[period] = { window, keys };
  return keys;
}
