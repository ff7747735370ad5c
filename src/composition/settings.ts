import { z } from "zod";
import { GIVE_WAY_IN_MS } from "./requestsInFlight.js";

/**
 * Every setting the app reads, parsed once from the environment (app settings in Azure,
 * local.settings.json under Core Tools, the variables `npm start` prints locally).
 */
/** Timer schedules (NCRONTAB, seconds first); timer bindings name them as `%SETTING%`. */
export const SCHEDULE_DEFAULTS = {
  KEY_EXPIRY_CHECK_SCHEDULE: "0 0 */6 * * *",
  ROTATE_KEYS_SCHEDULE: "0 30 * * * *",
  COMPLIANCE_SCHEDULE: "0 0 2 * * *",
  AUDIT_OUTBOX_SCHEDULE: "0 * * * * *",
  AUDIT_DEAD_LETTER_REPLAY_SCHEDULE: "0 */5 * * * *",
  STORED_RESPONSE_OWNERS_PURGE_SCHEDULE: "0 20 * * * *",
} as const;

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

const settingsSchema = z.object({
  PALISADE_POLICY: z.string().default("config/policy.sample.yaml"),
  AZURE_STORAGE_CONNECTION_STRING: optionalText,
  AZURE_STORAGE_TABLE_ENDPOINT: optionalText,
  AZURE_STORAGE_BLOB_ENDPOINT: optionalText,
  SERVICEBUS_CONNECTION_STRING: optionalText,
  SERVICEBUS_FULLY_QUALIFIED_NAMESPACE: optionalText,
  SERVICEBUS_AUDIT_QUEUE: z.string().default("audit-events"),
  AZURE_KEYVAULT_URL: optionalText,
  AZURE_KEYVAULT_CA_CERT: optionalText,
  AZURE_CLIENT_ID: optionalText,
  PALISADE_AUDIT_DIGEST_SECRET: z.string().default("audit-digest-key"),
  PALISADE_CHECKPOINT_KEY: z.string().default("audit-checkpoint"),
  PALISADE_CHECKPOINT_CONTAINER: z.string().default("audit-checkpoints"),
  PALISADE_COMPLIANCE_CONTAINER: z.string().default("compliance-reports"),
  /** The separate identity key rotation runs under (least privilege: the app's own cannot regenerate keys). */
  PALISADE_ROTATION_CLIENT_ID: optionalText,
  PALISADE_CHECKPOINT_EVERY: z.coerce.number().int().positive().default(1000),
  /** Also checkpoint a growing chain whose last checkpoint is this old (0: by count only); docs/audit.md. */
  PALISADE_CHECKPOINT_EVERY_IN_MS: z.coerce.number().int().min(0).default(300_000),
  /** The longest a slice of the audit append or its checkpoint waits for a gap between requests (light load); 0: never (docs/audit.md). */
  PALISADE_AUDIT_GIVE_WAY_IN_MS: z.coerce.number().int().min(0).max(1000).default(GIVE_WAY_IN_MS),
  /** Share of a rate limit or budget one instance may lease ahead of its requests; 0 turns leases off (docs/limits.md). */
  PALISADE_LIMITS_LEASE_FRACTION: z.coerce.number().min(0).max(0.5).default(0.05),
  /** How long settled usage may wait to be written in one round; 0 writes each settlement at once. */
  PALISADE_LIMITS_SETTLE_EVERY_IN_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** Table Storage: each try's time limit and the SDK's retries; a dependency breaker stays open this long (docs/audit.md). */
  PALISADE_STORAGE_TRY_TIMEOUT_IN_MS: z.coerce.number().int().min(100).max(60_000).default(4000),
  PALISADE_STORAGE_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(1),
  PALISADE_STORAGE_RETRY_DELAY_IN_MS: z.coerce.number().int().min(10).max(10_000).default(250),
  PALISADE_DEPENDENCY_OPEN_FOR_IN_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  /** Audit publishing: the longest a publish may wait for Service Bus before the outbox (or a 503) takes over. */
  PALISADE_AUDIT_PUBLISH_TIMEOUT_IN_MS: z.coerce.number().int().min(100).max(30_000).default(2000),
  /** How long the audit trigger holds a session through a storage outage before giving the batch back (below functionTimeout and maxAutoLockRenewalDuration). */
  PALISADE_AUDIT_APPEND_HOLD_IN_MS: z.coerce.number().int().min(0).max(3_600_000).default(240_000),
  /** The audit append in a worker thread of the instance (`on`, for instances with more than one core), or on the thread that serves HTTP (`off`, the default: docs/audit.md). */
  PALISADE_AUDIT_APPEND_WORKER: z.enum(["on", "off"]).default("off"),
  /** A delivery the append worker has not appended within this long: the worker is restarted and the delivery given back. */
  PALISADE_AUDIT_APPEND_WORKER_TIMEOUT_IN_MS: z.coerce.number().int().min(1_000).max(600_000).default(120_000),
  /** Budget an instance holds (reservations in flight, leases) is given back this long after it stops renewing (docs/limits.md, "Holds"). */
  PALISADE_LIMITS_HOLD_EXPIRY_IN_MS: z.coerce.number().int().min(1_000).max(600_000).default(60_000),
  KEY_EXPIRY_CHECK_SCHEDULE: z.string().default(SCHEDULE_DEFAULTS.KEY_EXPIRY_CHECK_SCHEDULE),
  ROTATE_KEYS_SCHEDULE: z.string().default(SCHEDULE_DEFAULTS.ROTATE_KEYS_SCHEDULE),
  COMPLIANCE_SCHEDULE: z.string().default(SCHEDULE_DEFAULTS.COMPLIANCE_SCHEDULE),
  AUDIT_OUTBOX_SCHEDULE: z.string().default(SCHEDULE_DEFAULTS.AUDIT_OUTBOX_SCHEDULE),
  AUDIT_DEAD_LETTER_REPLAY_SCHEDULE: z.string().default(SCHEDULE_DEFAULTS.AUDIT_DEAD_LETTER_REPLAY_SCHEDULE),
  STORED_RESPONSE_OWNERS_PURGE_SCHEDULE: z.string().default(SCHEDULE_DEFAULTS.STORED_RESPONSE_OWNERS_PURGE_SCHEDULE),
  /** How long a stored Response's owner record counts (OpenAI keeps stored Responses 30 days); expired records are purged by a timer. */
  PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  PALISADE_TELEMETRY_EXPORTER: z.enum(["none", "console", "otlp", "azure-monitor"]).default("none"),
  /** The share of requests traced; metrics count every request (docs/observability.md). */
  PALISADE_TRACE_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(0.01),
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
  /** Azure AI Content Safety (`https://<account>.cognitiveservices.azure.com`); unset, projects asking for screening get their unavailable behaviour. */
  CONTENT_SAFETY_ENDPOINT: optionalText,
  /** Only for the local emulator: in Azure the app's managed identity is used and local auth is off. */
  CONTENT_SAFETY_KEY: optionalText,
  PALISADE_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Set by `npm start` and tests: trust the local Key Vault emulator's token story. */
  PALISADE_LOCAL_STACK: z
    .string()
    .optional()
    .transform((value) => value === "1" || value === "true"),
});

export type Settings = z.infer<typeof settingsSchema>;

export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

export function parseSettings(environment: Readonly<Record<string, string | undefined>>): Settings {
  const result = settingsSchema.safeParse(environment);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.join(".")}: ${issue.message}`).join("\n");
    throw new SettingsError(`Invalid settings:\n${problems}`);
  }
  const settings = result.data;
  if (!settings.AZURE_STORAGE_CONNECTION_STRING && !settings.AZURE_STORAGE_TABLE_ENDPOINT) {
    throw new SettingsError(
      "Storage is not configured: set AZURE_STORAGE_CONNECTION_STRING (local) or AZURE_STORAGE_TABLE_ENDPOINT and AZURE_STORAGE_BLOB_ENDPOINT (Azure, managed identity). `npm start` prints working values.",
    );
  }
  return settings;
}
