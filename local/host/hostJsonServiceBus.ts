import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Service Bus trigger settings of host.json that the local host honours, as the Functions host reads them. */
export interface HostServiceBusSettings {
  readonly maxConcurrentSessions: number;
  /** How long a session receiver waits for the session's next message before it lets the session go. */
  readonly sessionIdleTimeoutInMs: number;
  readonly maxMessagesPerBatch: number;
  readonly maxAutoLockRenewalDurationInMs: number;
}

/** The extension's own defaults, where host.json is silent. */
const DEFAULTS: HostServiceBusSettings = { maxConcurrentSessions: 8, sessionIdleTimeoutInMs: 60_000, maxMessagesPerBatch: 1_000, maxAutoLockRenewalDurationInMs: 300_000 };

/** "hh:mm:ss" (a .NET TimeSpan, as host.json writes durations) in milliseconds; null when not one. */
export function timeSpanInMs(value: unknown): number | null {
  if (typeof value !== "string") return null;
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (!match) return null;
  return Math.round((Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])) * 1000);
}

const record = (value: unknown): Record<string, unknown> => (typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {});
const positive = (value: unknown): number | null => (typeof value === "number" && Number.isInteger(value) && value > 0 ? value : null);

export function hostServiceBusSettingsOf(hostJson: unknown): HostServiceBusSettings {
  const serviceBus = record(record(record(hostJson).extensions).serviceBus);
  const sessions = record(serviceBus.sessionHandlerOptions);
  const batches = record(serviceBus.batchOptions);
  return {
    maxConcurrentSessions: positive(sessions.maxConcurrentSessions) ?? DEFAULTS.maxConcurrentSessions,
    sessionIdleTimeoutInMs: timeSpanInMs(sessions.sessionIdleTimeout) ?? DEFAULTS.sessionIdleTimeoutInMs,
    maxMessagesPerBatch: positive(batches.maxMessageCount) ?? DEFAULTS.maxMessagesPerBatch,
    maxAutoLockRenewalDurationInMs: timeSpanInMs(serviceBus.maxAutoLockRenewalDuration) ?? DEFAULTS.maxAutoLockRenewalDurationInMs,
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
