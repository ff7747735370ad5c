import { type BudgetWarning } from "./BudgetWarning.js";

/** A crossed budget threshold found by a periodic flush, which writes many projects at once. */
export interface ProjectBudgetWarning extends BudgetWarning {
  readonly project: string;
}
