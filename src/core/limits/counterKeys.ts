import { OPERATION_KINDS, type OperationKind } from "../policy/operationsPolicy.js";
import { type Windows } from "./windows.js";

/**
 * Row keys inside a project's partition. Limit counters start with `L|` so a reservation reads
 * only a handful of rows; rollups start with `R|<period>|` so a usage report is one range query.
 *
 *   L|m|<minute>|req|<scope>   requests in a minute window   fields: reserved
 *   L|m|<minute>|tok|<scope>   tokens in a minute window     fields: reserved, settled
 *   R|d|<YYYY-MM-DD>|p         the project's day: budget and totals
 *   R|M|<YYYY-MM>|p            the project's month: budget and totals
 *   R|d|<YYYY-MM-DD>|k:<key>   rollup by key; m:<model>, t:<tag>=<value> likewise (and R|M|...)
 *   B|<response>|<key>|<model> what a background Response's create settled (BackgroundUsageSettlements.ts)
 *
 * Usage by operation has no rows of its own: the project's day and month rows carry it as fields
 * `op_<operation>_<field>` beside the totals (`op_embeddings_usd`), so the breakdown adds no row
 * to a settlement's transaction and no round trip.
 *
 * Scopes: `p` (the project) or `sa:<serviceAccountId>`.
 */

export const FIELD = {
  reserved: "reserved",
  settled: "settled",
  usdReserved: "usdReserved",
  usd: "usd",
  requests: "requests",
  inputTokens: "inputTokens",
  cachedInputTokens: "cachedInputTokens",
  outputTokens: "outputTokens",
  unpricedRequests: "unpricedRequests",
} as const;

export type RollupPeriod = "day" | "month";

/**
 * Keeps letters, digits and `._:=-`; everything else becomes `~XX` (UTF-8 hex), so a key never
 * holds the characters Table Storage forbids (`/ \ # ?`, controls) nor `%` or `|`.
 */
const SAFE_KEY_PART = /^[A-Za-z0-9._:=-]*$/;

export function escapeKeyPart(value: string): string {
  // Ids and model names are nearly always safe as they are: one test instead of one per character.
  if (SAFE_KEY_PART.test(value)) return value;
  let out = "";
  for (const char of value) {
    if (/^[A-Za-z0-9._:=-]$/.test(char)) out += char;
    else for (const byte of new TextEncoder().encode(char)) out += `~${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function unescapeKeyPart(value: string): string {
  const bytes: number[] = [];
  for (let index = 0; index < value.length; index++) {
    const char = value[index];
    if (char === "~") {
      bytes.push(Number.parseInt(value.slice(index + 1, index + 3), 16));
      index += 2;
    } else if (char !== undefined) {
      bytes.push(...new TextEncoder().encode(char));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

export const projectScope = "p";
/** Service accounts' scopes, built once each (bounded: past this many they are built every time). */
const MAX_CACHED_SCOPES = 4_096;
const serviceAccountScopes = new Map<string, string>();

export function serviceAccountScope(serviceAccountId: string): string {
  let scope = serviceAccountScopes.get(serviceAccountId);
  if (scope === undefined) {
    scope = `sa:${escapeKeyPart(serviceAccountId)}`;
    if (serviceAccountScopes.size < MAX_CACHED_SCOPES) serviceAccountScopes.set(serviceAccountId, scope);
  }
  return scope;
}

export const requestsKey = (minute: number, scope: string): string => `L|m|${minute}|req|${scope}`;
export const tokensKey = (minute: number, scope: string): string => `L|m|${minute}|tok|${scope}`;

const MINUTE_PREFIX = "L|m|";

/** The minute window of a per-minute counter key (`L|m|<minute>|...`), or null for any other key. */
export function minuteOfKey(key: string): number | null {
  if (!key.startsWith(MINUTE_PREFIX)) return null;
  const end = key.indexOf("|", MINUTE_PREFIX.length);
  const minute = Number(key.slice(MINUTE_PREFIX.length, end < 0 ? undefined : end));
  return end < 0 || !Number.isInteger(minute) ? null : minute;
}

/** The same per-minute counter (same kind and scope) in another minute window; other keys unchanged. */
export function inMinuteWindow(key: string, minute: number): string {
  if (minuteOfKey(key) === null) return key;
  return `${MINUTE_PREFIX}${minute}${key.slice(key.indexOf("|", MINUTE_PREFIX.length))}`;
}

export const periodPrefix = (period: RollupPeriod, windows: Pick<Windows, "day" | "month">): string =>
  period === "day" ? `R|d|${windows.day}|` : `R|M|${windows.month}|`;

/** `R|d|` + `YYYY-MM-DD` + `|`, `R|M|` + `YYYY-MM` + `|`: where each period's window sits in its keys. */
const PERIOD_WINDOWS: readonly { readonly period: RollupPeriod; readonly prefix: string; readonly length: number }[] = [
  { period: "day", prefix: "R|d|", length: 10 },
  { period: "month", prefix: "R|M|", length: 7 },
];

/**
 * Where a counter's window lies from `windows`: over (-1), current (0) or not started yet (1).
 * Minute counters compare minutes, day and month rows their UTC period; any other key is current.
 */
export function windowOrder(key: string, windows: Windows): -1 | 0 | 1 {
  const minute = minuteOfKey(key);
  if (minute !== null) return minute < windows.minute ? -1 : minute > windows.minute ? 1 : 0;
  for (const { period, prefix, length } of PERIOD_WINDOWS) {
    if (!key.startsWith(prefix) || key[prefix.length + length] !== "|") continue;
    // ISO dates order as strings.
    const window = key.slice(prefix.length, prefix.length + length);
    const current = windows[period];
    return window < current ? -1 : window > current ? 1 : 0;
  }
  return 0;
}

/**
 * The same counter in the window that follows its own, when that window starts with `next` (the
 * windows of the minute after `current`'s): every minute counter of `current`, a day row when the
 * day turns, a month row when the month does. Null for any other key.
 */
export function inNextWindows(key: string, current: Windows, next: Windows): string | null {
  if (minuteOfKey(key) !== null) return windowOrder(key, current) === 0 ? inMinuteWindow(key, next.minute) : null;
  for (const { period } of PERIOD_WINDOWS) {
    const prefix = periodPrefix(period, current);
    if (!key.startsWith(prefix)) continue;
    const nextPrefix = periodPrefix(period, next);
    return nextPrefix === prefix ? null : `${nextPrefix}${key.slice(prefix.length)}`;
  }
  return null;
}

export const projectPeriodKey = (period: RollupPeriod, windows: Pick<Windows, "day" | "month">): string => `${periodPrefix(period, windows)}p`;

export type RollupDimension = "key" | "model" | "tag";
const DIMENSION_PREFIX: Record<RollupDimension, string> = { key: "k:", model: "m:", tag: "t:" };

export const rollupKey = (period: RollupPeriod, windows: Pick<Windows, "day" | "month">, dimension: RollupDimension, value: string): string =>
  `${periodPrefix(period, windows)}${DIMENSION_PREFIX[dimension]}${escapeKeyPart(value)}`;

/** The dimension and value a rollup key names, or null for the project row. */
export function parseRollupSuffix(suffix: string): { dimension: RollupDimension; value: string } | null {
  for (const [dimension, prefix] of Object.entries(DIMENSION_PREFIX) as [RollupDimension, string][]) {
    if (suffix.startsWith(prefix)) return { dimension, value: unescapeKeyPart(suffix.slice(prefix.length)) };
  }
  return null;
}

const OPERATION_FIELD_PREFIX = "op_";

/** The field of a project period row that holds `field` for one operation (`op_embeddings_inputTokens`). */
export const operationField = (operation: OperationKind, field: string): string => `${OPERATION_FIELD_PREFIX}${operation}_${field}`;

/** Operation field names already built, by operation then field: a settlement needs the same few every time. */
const operationFieldNames = new Map<OperationKind, Map<string, string>>();

function operationFieldName(operation: OperationKind, field: string): string {
  let names = operationFieldNames.get(operation);
  if (names === undefined) {
    names = new Map();
    operationFieldNames.set(operation, names);
  }
  let name = names.get(field);
  if (name === undefined) {
    name = operationField(operation, field);
    // Fields are the settlement's fixed vocabulary (FIELD); the bound only guards against misuse.
    if (names.size < 64) names.set(field, name);
  }
  return name;
}

/**
 * Per operation, the last shape of a settlement's fields (every total and its operation field, all
 * zero): copying it gives the object its final shape at once instead of growing it field by field.
 */
const operationTemplates = new Map<OperationKind, { readonly measureCount: number; readonly template: Record<string, number> }>();

function templateFor(operation: OperationKind, measures: Readonly<Record<string, number>>): Record<string, number> {
  const cached = operationTemplates.get(operation);
  let count = 0;
  let fits = cached !== undefined;
  for (const field in measures) {
    count += 1;
    if (fits && !(field in (cached?.template ?? {}))) fits = false;
  }
  // It fits when it has exactly these measures (and their operation fields): no field left over.
  if (cached !== undefined && fits && cached.measureCount === count) return cached.template;
  const template: Record<string, number> = {};
  for (const field in measures) template[field] = 0;
  for (const field in measures) template[operationFieldName(operation, field)] = 0;
  operationTemplates.set(operation, { measureCount: count, template });
  return template;
}

/** The measures a settlement adds to its project period rows: the totals, and the same figures under its operation's fields. */
export function withOperationFields(operation: OperationKind, measures: Readonly<Record<string, number>>): Record<string, number> {
  const fields: Record<string, number> = { ...templateFor(operation, measures) };
  for (const field in measures) {
    const amount = measures[field] ?? 0;
    fields[field] = amount;
    fields[operationFieldName(operation, field)] = amount;
  }
  return fields;
}

/** The figures of each operation found on a project period row's fields, by operation. */
export function operationFieldsOf(values: Readonly<Record<string, number>>): Map<OperationKind, Record<string, number>> {
  const byOperation = new Map<OperationKind, Record<string, number>>();
  for (const operation of OPERATION_KINDS) {
    const prefix = `${OPERATION_FIELD_PREFIX}${operation}_`;
    for (const [name, amount] of Object.entries(values)) {
      if (!name.startsWith(prefix)) continue;
      const fields = byOperation.get(operation) ?? {};
      fields[name.slice(prefix.length)] = amount;
      byOperation.set(operation, fields);
    }
  }
  return byOperation;
}
