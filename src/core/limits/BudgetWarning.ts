import { type RollupPeriod } from "./counterKeys.js";

/** A budget threshold one settlement crossed. */
export interface BudgetWarning {
  readonly period: RollupPeriod;
  /** The threshold crossed (the policy's warnAtFraction, or 1 when the budget is spent). */
  readonly fraction: number;
  readonly spentUsd: number;
  readonly budgetUsd: number;
}
