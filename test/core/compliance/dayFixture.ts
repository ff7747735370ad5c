import { AUDIT_EVENT_TYPES, type AuditEvent, type AuditEventType } from "../../../src/core/audit/AuditEvent.js";
import { seededRandom } from "../../support/seededRandom.js";

export const VERSION_MORNING = "a".repeat(64);
export const VERSION_AFTERNOON = "b".repeat(64);
const MODELS = ["gpt-4o", "gpt-4o-mini", "o3-mini"] as const;
/** As the gateway names them in `details.operation`. */
const OPERATIONS = ["chat.completions", "embeddings", "responses"] as const;
const ENDPOINTS = [
  { id: "ep-sweden", region: "swedencentral" },
  { id: "ep-france", region: "francecentral" },
] as const;
const PSEUDONYMS = ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "00112233445566778899aabbccddeeff"];

export interface GeneratedDay {
  readonly chainId: string;
  readonly date: string;
  readonly startInMs: number;
  /** The day's events plus a few just outside it (which a summary must ignore). */
  readonly events: readonly AuditEvent[];
  readonly inside: readonly AuditEvent[];
}

/**
 * A generated UTC day of one chain: every event type, several actors, models, endpoints, DLP
 * findings, cache hits, subjects and two policy versions, in timestamp order.
 */
export function generateDay(options: { chainId?: string; date?: string; seed?: number; count?: number } = {}): GeneratedDay {
  const chainId = options.chainId ?? "acme";
  const date = options.date ?? "2026-03-10";
  const startInMs = Date.parse(`${date}T00:00:00.000Z`);
  // Seeded, so a generated day is the same on every run.
  const random = seededRandom(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const count = options.count ?? 600;
  // Every type at least once, then weighted towards calls.
  const types: AuditEventType[] = [...AUDIT_EVENT_TYPES];
  const weighted: AuditEventType[] = [...Array(12).fill("api_call"), "auth_failed", "policy_violation", "pii_detected", "rate_limited", "budget_exceeded", "fallback_triggered", ...AUDIT_EVENT_TYPES];
  while (types.length < count) types.push(pick(weighted));
  const offsets = types.map(() => int(0, 86_399_999)).sort((a, b) => a - b);

  const inside = types.map((type, index): AuditEvent => {
    const offset = offsets[index] ?? 0;
    const ts = new Date(startInMs + offset).toISOString();
    const sa = `sa-${int(1, 4)}`;
    const base = {
      schemaVersion: 1 as const,
      eventId: `evt-${chainId}-${date}-${index}`,
      ts,
      type,
      project: chainId,
      policyVersion: offset < 43_200_000 ? VERSION_MORNING : VERSION_AFTERNOON,
      actor: { kind: "service-account" as const, id: sa, keyId: `${sa}-key` },
    };
    const model = pick(MODELS);
    const endpoint = pick(ENDPOINTS);
    const system = { kind: "system" as const, id: "rotateKeys" };
    switch (type) {
      case "api_call": {
        const roll = random();
        const cacheHit = roll < 0.1;
        const status = roll < 0.8 ? "success" : roll < 0.9 ? "error" : "blocked";
        const findings = random() < 0.3 ? { EMAIL: int(1, 3), "output.PHONE": int(0, 2) } : undefined;
        const subject = random() < 0.4 ? `${pick(PSEUDONYMS)}:${"QUJD".repeat(int(3, 8))}` : undefined;
        return {
          ...base,
          status: cacheHit ? "success" : status,
          httpStatus: cacheHit || status === "success" ? 200 : status === "error" ? 502 : 400,
          model,
          deployment: `${model}-eu`,
          endpointId: endpoint.id,
          region: endpoint.region,
          classification: "internal",
          tokens: cacheHit ? { input: 0, output: 0 } : { input: int(10, 2000), cachedInput: int(0, 5), output: int(0, 800) },
          costUsd: cacheHit ? 0 : int(1, 5000) / 1_000_000,
          latencyInMs: int(50, 3000),
          ...(findings === undefined ? {} : { dlpFindings: findings, dlpAction: "redact" }),
          ...(subject === undefined ? {} : { subject }),
          ...(status === "error" && !cacheHit ? { reason: "upstream_error" } : status === "blocked" && !cacheHit ? { reason: "sensitive_data_detected" } : {}),
          // The operation from the index, not the random source, so the rest of the seeded day is unchanged.
          details: {
            operation: OPERATIONS[index % OPERATIONS.length]!,
            ...(cacheHit ? { cache: "hit" } : { attempts: int(1, 2), endpointClass: "standard" }),
            // Some served with their limits unchecked (from the index: the seeded day is otherwise unchanged).
            ...(index % 11 === 0 ? { limitsEnforced: false } : {}),
          },
        };
      }
      case "auth_failed":
        return {
          ...base,
          actor: random() < 0.5 ? { kind: "anonymous", id: "anonymous" } : base.actor,
          status: "blocked",
          httpStatus: 401,
          reason: pick(["invalid_api_key", "expired_api_key", "revoked_api_key", "missing_api_key"]),
        };
      case "policy_violation":
        return { ...base, status: "blocked", httpStatus: 403, model, reason: pick(["model_not_allowed", "ip_not_allowed", "insufficient_role", "missing_permission"]) };
      case "pii_detected":
        return { ...base, status: "blocked", httpStatus: 400, model, reason: "sensitive_data_detected", dlpFindings: { CREDIT_CARD: int(1, 2), US_SSN: int(0, 1) }, dlpAction: "block" };
      case "rate_limited":
        return { ...base, status: "blocked", httpStatus: 429, model, reason: "rate_limit_exceeded" };
      case "budget_exceeded":
        return { ...base, status: "blocked", httpStatus: 429, model, reason: "budget_exceeded" };
      case "residency_blocked":
        return { ...base, status: "error", httpStatus: 503, model, reason: "no_compliant_endpoint" };
      case "request_admitted":
        return { ...base, status: "success", model, details: { operation: "chat.completions", candidates: endpoint.id, reservedTokens: 1024, streamed: false, ...(index % 11 === 0 ? { limitsEnforced: false } : {}) } };
      case "budget_warning":
        return { ...base, status: "success", reason: "budget_threshold", details: { period: "daily", fraction: 0.8, spentUsd: 8, budgetUsd: 10 } };
      case "fallback_triggered":
        return {
          ...base,
          status: "success",
          model,
          reason: pick(["rate_limited", "server_error", "timeout"]),
          details: { fromEndpoint: ENDPOINTS[0].id, fromRegion: ENDPOINTS[0].region, toEndpoint: ENDPOINTS[1].id, toRegion: ENDPOINTS[1].region, residency: "eu" },
        };
      case "key_expiring":
        return { ...base, actor: { kind: "system", id: "keyExpiryCheck" }, status: "success", reason: "expiring", details: { credentialId: pick(["openai-eu", "openai-us"]), severity: pick(["WARNING", "CRITICAL"]), days: int(-1, 7) } };
      case "key_created":
      case "key_rotated":
      case "key_revoked":
        return { ...base, actor: system, status: "success", details: { credentialId: "openai-eu", rotationId: `rot-${index}` } };
      case "rotation_failed":
        return { ...base, actor: system, status: "error", reason: "verification_failed", details: { credentialId: "openai-us" } };
      case "model_changed":
        return { ...base, actor: { kind: "system", id: "policyTrail" }, status: "success", reason: "model_added", details: { model: "o3-mini", deployment: "o3-mini-eu" } };
      case "policy_changed":
        return { ...base, actor: { kind: "system", id: "policyTrail" }, status: "success", reason: "policy_updated", details: { fromVersion: VERSION_MORNING, toVersion: VERSION_AFTERNOON } };
      case "content_filtered":
        return { ...base, status: "blocked", httpStatus: 400, model, reason: "content_filter", details: { safetySource: "palisade", safetyPlace: "prompt", safetyAction: "block", safetyCategories: "Violence", "severity.Violence": 6 } };
      case "prompt_attack_detected":
        return { ...base, status: "blocked", httpStatus: 400, model, reason: "content_filter", details: { safetySource: "upstream", safetyPlace: "prompt", safetyAction: "block", promptAttack: "jailbreak" } };
      case "checkpoint_signed":
      case "dsr_exported":
      case "dsr_erased":
        return { ...base, actor: { kind: "system", id: "cli" }, status: "success", details: { subjectRef: "f".repeat(64) } };
    }
  });
  const outside: AuditEvent[] = [
    { ...(inside[0] as AuditEvent), eventId: `evt-${chainId}-before`, type: "api_call", status: "success", ts: new Date(startInMs - 1).toISOString(), tokens: { input: 999_999, output: 1 }, costUsd: 9 },
    { ...(inside[0] as AuditEvent), eventId: `evt-${chainId}-after`, type: "api_call", status: "success", ts: new Date(startInMs + 86_400_000).toISOString(), tokens: { input: 999_999, output: 1 }, costUsd: 9 },
  ];
  return { chainId, date, startInMs, events: [outside[0] as AuditEvent, ...inside, outside[1] as AuditEvent], inside };
}
