import { ensureError } from "../errors.js";
import { type Logger } from "../logger.js";
import { type Policy } from "../policy/schema.js";
import { findPrice, priceUsageMicros, type TokenUsage } from "../pricing/priceUsage.js";
import { responseUsageOf } from "../upstream/ResponsesProvider.js";
import { FIELD, escapeKeyPart, unescapeKeyPart, withOperationFields } from "./counterKeys.js";
import { periodKeysFor } from "./periodKeysFor.js";
import { rollupTagsOf } from "./settlementDeltas.js";
import { type Reservation } from "./Reservation.js";
import { type CounterDelta, type UsageCounterStore } from "./UsageCounterStore.js";
import { windowsAt } from "./windows.js";

/** What the create of a background Response settled (the input estimate and the whole output cap). */
export interface BackgroundCreateSettled {
  readonly responseId: string;
  readonly reservation: Reservation;
  readonly tokens: TokenUsage;
}

/** A Response a read, stream or cancel saw, with what it was made with. */
export interface SeenResponse {
  readonly projectId: string;
  readonly responseId: string;
  readonly model: string;
  readonly deployment: string;
  /** The Response as the upstream answered it (its `status`, `background` and `usage`). */
  readonly response: Readonly<Record<string, unknown>>;
}

export interface BackgroundUsageSettlementsDeps {
  readonly store: UsageCounterStore;
  readonly policy: Policy;
  readonly logger: Logger;
}

/** Background settlement rows: `B|<response id>|<key name>|<model>`, beside the project's counters. */
const PREFIX = "B|";
/** Fields of a background row: what the create settled, the day it was counted in, and whether the true-up is done. */
const DAY_MS = "dayMs";
const TRUED_UP = "trueUps";
const TERMINAL: ReadonlySet<unknown> = new Set(["completed", "incomplete", "failed", "cancelled"]);
const PERIODS = ["day", "month"] as const;

const keyNameOf = (reservation: Reservation): string => reservation.keyId ?? (reservation.serviceAccountId === null ? "(none)" : `sa:${reservation.serviceAccountId}`);

/**
 * A background Response's usage, settled exactly once. Its create is answered `queued`, without
 * usage, so the create settles at the reservation (input estimate + the whole output cap) and leaves
 * a row of what it counted in the project's counter partition. The first read, stream or cancel that
 * sees the Response terminal with `usage` puts the difference on the same day and month rows and
 * rollups, and marks the row, in ONE atomic apply whose mark is limited to 1: of any number of
 * instances seeing it at once, exactly one applies, the others are refused and change nothing.
 * Minute (TPM) windows are not corrected: they are over by then. Never throws: a row or a true-up
 * that cannot be written is logged, and the count stays at the reservation (the safe side; the
 * next read tries again).
 */
export class BackgroundUsageSettlements {
  constructor(private readonly deps: BackgroundUsageSettlementsDeps) {}

  /** After the create's settlement, before its answer goes out (so no read can come before the row). */
  async recordCreate({ responseId, reservation, tokens }: BackgroundCreateSettled): Promise<void> {
    if (!reservation.tracked || !reservation.counted) return;
    const costMicros = reservation.price === null ? 0 : priceUsageMicros(reservation.price, tokens);
    const add = {
      [FIELD.inputTokens]: Math.max(0, tokens.inputTokens),
      [FIELD.cachedInputTokens]: Math.max(0, tokens.cachedInputTokens ?? 0),
      [FIELD.outputTokens]: Math.max(0, tokens.outputTokens),
      [FIELD.usd]: costMicros,
      [DAY_MS]: Date.parse(`${reservation.windows.day}T00:00:00Z`),
    };
    try {
      await this.deps.store.apply(reservation.projectId, [{ key: rowKey(responseId, keyNameOf(reservation), reservation.model), add }]);
    } catch (error) {
      this.deps.logger.warn("background usage row not written; its usage stays counted at the reservation", { project: reservation.projectId, error: ensureError(error).name });
    }
  }

  /** Settles the difference if `seen` is a terminal background Response with usage and nobody settled it yet; resolves whether this call did. */
  async settleFinished(seen: SeenResponse): Promise<boolean> {
    const { response } = seen;
    const usage = responseUsageOf(response.usage);
    if (response.background !== true || !TERMINAL.has(response.status) || usage === null) return false;
    try {
      const row = await this.rowOf(seen.projectId, seen.responseId);
      if (row === null || (row.values[TRUED_UP] ?? 0) >= 1) return false;
      const actual = { inputTokens: usage.promptTokens, cachedInputTokens: usage.cachedPromptTokens, outputTokens: usage.completionTokens };
      const price = findPrice(this.deps.policy.pricing, seen.deployment, row.model);
      const measures = differenceOf(row.values, actual, price === null ? 0 : priceUsageMicros(price, actual));
      const deltas: CounterDelta[] = [{ key: row.key, add: { [TRUED_UP]: 1 }, limit: { fields: [TRUED_UP], max: 1 } }];
      const tags = this.deps.policy.projects.find((project) => project.id === seen.projectId)?.tags ?? {};
      const windows = windowsAt(row.values[DAY_MS] ?? 0);
      for (const period of PERIODS) {
        const keys = periodKeysFor(period, windows);
        deltas.push({ key: keys.project, add: withOperationFields("responses", measures) });
        deltas.push({ key: keys.rollup("key", row.keyName), add: measures });
        deltas.push({ key: keys.rollup("model", row.model), add: measures });
        for (const [tag, value] of rollupTagsOf(tags)) deltas.push({ key: keys.rollup("tag", `${tag}=${value}`), add: measures });
      }
      const result = await this.deps.store.apply(seen.projectId, deltas);
      return result.applied;
    } catch (error) {
      this.deps.logger.warn("background usage not settled; it stays counted at the reservation until a later read", { project: seen.projectId, error: ensureError(error).name });
      return false;
    }
  }

  private async rowOf(projectId: string, responseId: string): Promise<{ readonly key: string; readonly keyName: string; readonly model: string; readonly values: Readonly<Record<string, number>> } | null> {
    for await (const row of this.deps.store.list(projectId, `${PREFIX}${escapeKeyPart(responseId)}|`)) {
      const [, , keyName, model] = row.key.split("|");
      if (keyName !== undefined && model !== undefined) return { key: row.key, keyName: unescapeKeyPart(keyName), model: unescapeKeyPart(model), values: row.values };
    }
    return null;
  }
}

const rowKey = (responseId: string, keyName: string, model: string): string => `${PREFIX}${escapeKeyPart(responseId)}|${escapeKeyPart(keyName)}|${escapeKeyPart(model)}`;

/** Real usage and cost less what the create counted. */
function differenceOf(counted: Readonly<Record<string, number>>, actual: Required<TokenUsage>, actualMicros: number): Record<string, number> {
  return {
    [FIELD.usd]: actualMicros - (counted[FIELD.usd] ?? 0),
    [FIELD.inputTokens]: actual.inputTokens - (counted[FIELD.inputTokens] ?? 0),
    [FIELD.cachedInputTokens]: actual.cachedInputTokens - (counted[FIELD.cachedInputTokens] ?? 0),
    [FIELD.outputTokens]: actual.outputTokens - (counted[FIELD.outputTokens] ?? 0),
  };
}
