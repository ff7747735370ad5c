import { type OperationKind } from "../policy/operationsPolicy.js";
import { type ModelPrice, type ProjectPolicy } from "../policy/schema.js";
import { type CounterDelta } from "./UsageCounterStore.js";
import { type Windows } from "./windows.js";

/** What one admitted request holds in the counters until it is settled or released. */
export interface Reservation {
  readonly projectId: string;
  readonly keyId: string | null;
  readonly serviceAccountId: string | null;
  readonly model: string;
  readonly deployment: string;
  /** The operation its usage is counted under, beside the totals (null: the totals only). */
  readonly operation: OperationKind | null;
  readonly windows: Windows;
  /** Tokens (prompt estimate + max output) and micro-dollars held for this request. */
  readonly reservedTokens: number;
  readonly reservedUsdMicros: number;
  /** False when the project has no limits and no budget: nothing is stored, nothing to settle. */
  readonly tracked: boolean;
  /** False when the store was unreachable and the project fails open: nothing was reserved. */
  readonly counted: boolean;
  /** x-ratelimit-* headers to send with the response (empty without per-minute limits). */
  readonly headers: Readonly<Record<string, string>>;
  /** The price used, null when the model has none. */
  readonly price: ModelPrice | null;
  /** The project's tags (rollups for chargeback) and budget, as they were at reserve time. */
  readonly tags: Readonly<Record<string, string>>;
  readonly budget: ProjectPolicy["budget"];
  /** What was added to the counters, taken back on settle and release. Plain data: a reservation can be copied. */
  readonly held: readonly CounterDelta[];
}
