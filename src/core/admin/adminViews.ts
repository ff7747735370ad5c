import { API_KEY_PREFIX } from "../auth/apiKeyFormat.js";
import { type ApiKeyStatus } from "../auth/ApiKeyService.js";
import { type ApiKeyRecord } from "../auth/ApiKeyStore.js";

/** What the admin API shows of a key: never the secret, never its hash. */
export interface ApiKeyView {
  readonly object: "api_key";
  readonly id: string;
  /** `pal_<keyId>_`: enough to recognise the key in a config file or a log. */
  readonly prefix: string;
  readonly project: string;
  readonly serviceAccount: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** When the key stops (or stopped) working by revocation; may be in the future during a rotation overlap. */
  readonly revokedAt: string | null;
  readonly status: ApiKeyStatus;
}

export interface ListView<T> {
  readonly object: "list";
  readonly data: readonly T[];
}

const iso = (inMs: number): string => new Date(inMs).toISOString();

/** Builds the view field by field, so a hash can never slip through a spread. */
export function apiKeyView(record: ApiKeyRecord, status: ApiKeyStatus): ApiKeyView {
  return {
    object: "api_key",
    id: record.keyId,
    prefix: `${API_KEY_PREFIX}${record.keyId}_`,
    project: record.project,
    serviceAccount: record.serviceAccount,
    createdAt: iso(record.createdAtInMs),
    expiresAt: iso(record.expiresAtInMs),
    revokedAt: record.revokedAtInMs === null ? null : iso(record.revokedAtInMs),
    status,
  };
}

export const listView = <T>(data: readonly T[]): ListView<T> => ({ object: "list", data });
