import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Service Bus trigger settings of host.json that the local host honours, as the Functions host reads them. */
export interface HostServiceBusSettings {
  readonly maxConcurrentSessions: number;
  /** How long a session receiver waits for the session's next message before it lets the session go. */
  readonly sessionIdleTimeoutInMs: number;
  readonly maxMessagesPerBatch: number;
  /** A batch smaller than this waits up to `maxBatchWaitTimeInMs` for more messages (1: none waits). */
  readonly minMessagesPerBatch: number;
  readonly maxBatchWaitTimeInMs: number;
  readonly maxAutoLockRenewalDurationInMs: number;
  /** The client's operation timeout (`clientRetryOptions.tryTimeout`): also how long an accept waits for a session. */
  readonly tryTimeoutInMs: number;
}

/** The extension's own defaults, where host.json is silent (a missing sessionIdleTimeout is the try timeout). */
const DEFAULT_TRY_TIMEOUT_IN_MS = 60_000;
const DEFAULTS: HostServiceBusSettings = {
  maxConcurrentSessions: 8,
  sessionIdleTimeoutInMs: DEFAULT_TRY_TIMEOUT_IN_MS,
  maxMessagesPerBatch: 1_000,
  minMessagesPerBatch: 1,
  maxBatchWaitTimeInMs: 30_000,
  maxAutoLockRenewalDurationInMs: 300_000,
  tryTimeoutInMs: DEFAULT_TRY_TIMEOUT_IN_MS,
};

/** "hh:mm:ss" (a .NET TimeSpan, as host.json writes durations) in milliseconds; null when not one. */
export function timeSpanInMs(value: unknown): number | null {
  if (typeof value !== "string") return null;
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (!match) return null;
  return Math.round((Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])) * 1000);
}

const record = (value: unknown): Record<string, unknown> => (typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {});
const positive = (value: unknown): number | null => (typeof value === "number" && Number.isInteger(value) && value > 0 ? value : null);

/**
 * The settings under the names the Service Bus extension 5.x reads (the one extension bundle 4.x
 * ships): `maxMessageBatchSize`, `minMessageBatchSize`, `maxBatchWaitTime`, `sessionIdleTimeout`, `maxConcurrentSessions`,
 * `maxAutoLockRenewalDuration` and `clientRetryOptions.tryTimeout` at the top of the section, plus
 * the two older names it still honours (`sessionHandlerOptions.maxConcurrentSessions` and
 * `.messageWaitTime`). Like Azure, it ignores the 4.x names it no longer reads
 * (`batchOptions.maxMessageCount`, `sessionHandlerOptions.sessionIdleTimeout`).
 */
export function hostServiceBusSettingsOf(hostJson: unknown): HostServiceBusSettings {
  const serviceBus = record(record(record(hostJson).extensions).serviceBus);
  const sessions = record(serviceBus.sessionHandlerOptions);
  const maxMessagesPerBatch = positive(serviceBus.maxMessageBatchSize) ?? DEFAULTS.maxMessagesPerBatch;
  const tryTimeoutInMs = timeSpanInMs(record(serviceBus.clientRetryOptions).tryTimeout) ?? DEFAULTS.tryTimeoutInMs;
  return {
    maxConcurrentSessions: positive(serviceBus.maxConcurrentSessions) ?? positive(sessions.maxConcurrentSessions) ?? DEFAULTS.maxConcurrentSessions,
    sessionIdleTimeoutInMs: timeSpanInMs(serviceBus.sessionIdleTimeout) ?? timeSpanInMs(sessions.messageWaitTime) ?? tryTimeoutInMs,
    maxMessagesPerBatch,
    // The extension refuses a minimum above the maximum, and a wait over 2.5 min (half the longest lock).
    minMessagesPerBatch: Math.min(positive(serviceBus.minMessageBatchSize) ?? DEFAULTS.minMessagesPerBatch, maxMessagesPerBatch),
    maxBatchWaitTimeInMs: Math.min(timeSpanInMs(serviceBus.maxBatchWaitTime) ?? DEFAULTS.maxBatchWaitTimeInMs, 150_000),
    maxAutoLockRenewalDurationInMs: timeSpanInMs(serviceBus.maxAutoLockRenewalDuration) ?? DEFAULTS.maxAutoLockRenewalDurationInMs,
    tryTimeoutInMs,
  };
}

/** host.json at `path`, read once at start; the defaults when there is none. */
export function readHostServiceBusSettings(path: string | null): HostServiceBusSettings {
  if (path === null) return DEFAULTS;
  try {
    return hostServiceBusSettingsOf(JSON.parse(readFileSync(path, "utf8")) as unknown);
  } catch {
    return DEFAULTS;
  }
}

/** The app's host.json: the nearest one above this module (local/host/ in a checkout, dist/local/host/ once built). */
export function appHostJsonPath(): string | null {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(directory, "host.json");
    if (existsSync(candidate)) return candidate;
    directory = dirname(directory);
  }
  return null;
}
