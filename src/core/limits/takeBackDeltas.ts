import { type CounterDelta } from "./UsageCounterStore.js";

/**
 * The deltas that take back what a reservation added, but `keepFields` (a settled request keeps
 * its slot in the requests-per-minute window). Holds stay named, so each comes off its owner's hold.
 */
export function takeBackDeltas(applied: readonly CounterDelta[], keepFields: readonly string[]): CounterDelta[] {
  const out: CounterDelta[] = [];
  for (const delta of applied) {
    const add: Record<string, number> = {};
    for (const [field, amount] of Object.entries(delta.add)) if (!keepFields.includes(field) && amount !== 0) add[field] = -amount;
    if (Object.keys(add).length > 0) out.push({ key: delta.key, add, ...(delta.heldBy === undefined ? {} : { heldBy: delta.heldBy }) });
  }
  return out;
}
