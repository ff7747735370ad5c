import { randomBytes } from "node:crypto";

/** A parsed request as the secrets and keys handlers see it. */
export interface VaultRequest {
  readonly method: string;
  /** Decoded path segments after the collection name, e.g. ["name", "version"] for /secrets/name/version. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** https://127.0.0.1:PORT, used to build absolute ids and next links. */
  readonly vaultUrl: string;
}

export interface VaultResponse {
  readonly status: number;
  readonly body?: unknown;
}

/** Key Vault's error body: `{"error":{"code","message","innererror"?}}`. */
export function vaultError(status: number, code: string, message: string, innerCode?: string): VaultResponse {
  return { status, body: { error: { code, message, ...(innerCode === undefined ? {} : { innererror: { code: innerCode } }) } } };
}

export const ok = (body: unknown): VaultResponse => ({ status: 200, body });

/** 32 lowercase hex characters, the shape of a Key Vault object version. */
export const newVersionId = (): string => randomBytes(16).toString("hex");

/** Object names: 1-127 characters, letters, digits and dashes. */
export const isValidName = (name: string): boolean => /^[0-9a-zA-Z-]{1,127}$/.test(name);

export const toEpochSeconds = (ms: number): number => Math.floor(ms / 1000);

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates a tags object: string values only, at most 15 tags as Key Vault allows. */
export function readTags(value: unknown): Record<string, string> | undefined | "invalid" {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) return "invalid";
  const entries = Object.entries(value);
  if (entries.length > 15 || entries.some(([, v]) => typeof v !== "string")) return "invalid";
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Optional epoch-seconds attribute: undefined when absent, null when explicitly null, "invalid" otherwise. */
export function readEpochSeconds(value: unknown): number | null | undefined | "invalid" {
  if (value === undefined) return undefined;
  if (value === null) return null;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : "invalid";
}

const MAX_RESULTS = 25;

/**
 * One page of `items` as Key Vault pages lists: `maxresults` (1..25, default 25) and an opaque
 * `$skiptoken` carried in an absolute `nextLink` that keeps the api-version.
 */
export function page<T>(items: readonly T[], request: VaultRequest, path: string): VaultResponse {
  const rawMax = request.query.get("maxresults");
  const max = rawMax === null || rawMax === "" ? MAX_RESULTS : Number(rawMax);
  if (!Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
    return vaultError(400, "BadParameter", `maxresults must be an integer from 1 to ${MAX_RESULTS}.`);
  }
  const token = request.query.get("$skiptoken");
  const offset = token === null ? 0 : Number(Buffer.from(token, "base64url").toString("utf8"));
  if (!Number.isInteger(offset) || offset < 0) return vaultError(400, "BadParameter", "The $skiptoken is not valid.");
  const value = items.slice(offset, offset + max);
  let nextLink: string | null = null;
  if (offset + max < items.length) {
    const next = new URL(`${request.vaultUrl}${path}`);
    const apiVersion = request.query.get("api-version");
    if (apiVersion !== null) next.searchParams.set("api-version", apiVersion);
    next.searchParams.set("maxresults", String(max));
    next.searchParams.set("$skiptoken", Buffer.from(String(offset + max), "utf8").toString("base64url"));
    nextLink = next.toString();
  }
  return ok({ value, nextLink });
}
