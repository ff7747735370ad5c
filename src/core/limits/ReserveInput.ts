import { type OperationKind } from "../policy/operationsPolicy.js";
import { type ProjectPolicy, type ServiceAccountPolicy } from "../policy/schema.js";

/** What the gateway knows about a request before the upstream call: enough to reserve its limits and budget. */
export interface ReserveInput {
  readonly project: ProjectPolicy;
  readonly serviceAccount: ServiceAccountPolicy | null;
  readonly keyId: string | null;
  /** The caller's model name. */
  readonly model: string;
  readonly deployment: string;
  /**
   * Prompt tokens, or how to count them: a function is called only when a tokens-per-minute limit or
   * a budget needs the figure, so projects without them never pay for tokenising the prompt.
   */
  readonly estimatedPromptTokens: number | (() => number);
  /** The caller's max_tokens, or the project's maxTokens when it sent none. */
  readonly maxOutputTokens: number;
  /** Chat, embeddings or responses: settled usage is also counted by operation (unset: in the totals only). */
  readonly operation?: OperationKind;
}
