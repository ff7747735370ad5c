import { type CounterDelta } from "./UsageCounterStore.js";

/**
 * The deltas that take back what a reservation added, but `keepFields` (a settled request keeps
 * its slot in the requests-per-minute window). Holds stay named, so each comes off its owner's hold.
 */
export function takeBackDeltas(applied: readonly CounterDelta[], keepFields: readonly string[]): CounterDelta[] {
  const out: CounterDelta[] = [];
  for (const delta of applied) {
    // A loop over the fields, not entries and keys: two settle-time arrays fewer per delta.
    let add: Record<string, number> | null = null;
    for (const field in delta.add) {
      const amount = delta.add[field] ?? 0;
      if (amount === 0 || keepFields.includes(field)) continue;
      add ??= {};
      add[field] = -amount;
    }
    if (add !== null) out.push(delta.heldBy === undefined ? { key: delta.key, add } : { key: delta.key, add, heldBy: delta.heldBy });
  }
  return out;
}
