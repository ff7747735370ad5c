import { type ProjectPolicy } from "../policy/schema.js";
import { projectPeriodKey, type RollupPeriod } from "./counterKeys.js";
import { type Windows } from "./windows.js";

/**
 * Spend settled but not written yet, by project: the part of each budget counter that the next
 * write adds. A budget warning is due when that write carries the counter across a threshold, so
 * the one request (of all instances) whose write crosses it is the one that reports it.
 */
export interface ProjectSpend {
  budget: NonNullable<ProjectPolicy["budget"]>;
  /** Micro-dollars added per period counter key. */
  readonly byKey: Map<string, { readonly period: RollupPeriod; micros: number }>;
}

export class PendingBudgetSpend {
  private readonly byProject = new Map<string, ProjectSpend>();

  /** Adds one settlement's cost to its project's day and month counters. */
  note(project: string, budget: ProjectPolicy["budget"], windows: Windows, costMicros: number): void {
    if (budget === undefined || costMicros <= 0) return;
    let spend = this.byProject.get(project);
    if (spend === undefined) {
      spend = { budget, byKey: new Map() };
      this.byProject.set(project, spend);
    }
    spend.budget = budget;
    for (const period of ["day", "month"] as const) {
      const key = projectPeriodKey(period, windows);
      const entry = spend.byKey.get(key);
      if (entry) entry.micros += costMicros;
      else spend.byKey.set(key, { period, micros: costMicros });
    }
  }

  /** Takes a project's pending spend, as its write starts. */
  take(project: string): ProjectSpend | undefined {
    const spend = this.byProject.get(project);
    this.byProject.delete(project);
    return spend;
  }

  /** Puts back spend whose write failed, merged with what was noted meanwhile. */
  restore(project: string, spend: ProjectSpend): void {
    const current = this.byProject.get(project);
    if (current === undefined) {
      this.byProject.set(project, spend);
      return;
    }
    for (const [key, entry] of spend.byKey) {
      const existing = current.byKey.get(key);
      if (existing) existing.micros += entry.micros;
      else current.byKey.set(key, { ...entry });
    }
  }
}
