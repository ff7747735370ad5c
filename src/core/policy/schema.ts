import { z } from "zod";
import { contentSafetyPolicySchema } from "../safety/contentSafetyPolicy.js";
import { chatPolicySchema, embeddingsPolicySchema, endpointOperationsSchema, responsesPolicySchema } from "./operationsPolicy.js";
import { priceSchema } from "./priceSchema.js";
import { DEFAULT_PHONE_REGIONS, phoneRegionsSchema } from "./phoneRegions.js";

/**
 * The policy: the one configuration that governs every decision. Written in YAML or JSON
 * (YAML is a superset, so one parser reads both), validated here at start-up and by
 * `palisade policy validate FILE`.
 */

export const RESIDENCIES = ["eu", "us", "apac", "global"] as const;
export const ROLES = ["owner", "admin", "member", "reader"] as const;
export const DATA_CLASSES = ["public", "internal", "confidential", "pii", "phi"] as const;
export const ENDPOINT_CLASSES = ["zdr", "standard", "cached"] as const;
export const DLP_ACTIONS = ["allow", "block", "redact", "route"] as const;
export const PERMISSIONS = ["chat.completions", "models.list", "embeddings.create", "responses.create"] as const;

export type Residency = (typeof RESIDENCIES)[number];
export type Role = (typeof ROLES)[number];
export type DataClass = (typeof DATA_CLASSES)[number];
export type EndpointClass = (typeof ENDPOINT_CLASSES)[number];
export type DlpAction = (typeof DLP_ACTIONS)[number];
export type Permission = (typeof PERMISSIONS)[number];

const identifier = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lower-case letters, digits and dashes (at most 63), starting with a letter or digit");

const positiveInt = z.number().int().positive();

const limitsSchema = z
  .object({
    requestsPerMinute: positiveInt.optional(),
    tokensPerMinute: positiveInt.optional(),
  })
  .strict();

/** A project's limits, and what happens to its requests when the counter store cannot answer. */
const projectLimitsSchema = limitsSchema
  .extend({
    /**
     * Counter store unreachable: let requests through uncounted (`fail_open`, the default; each is
     * marked `limitsEnforced: false` in its audit events) or refuse them with 503 `limits_unavailable`
     * (`fail_closed`). A budget's `failClosed` refuses too: either one failing closed is enough.
     */
    onStoreUnavailable: z.enum(["fail_open", "fail_closed"]).optional(),
  })
  .strict();

const budgetSchema = z
  .object({
    dailyUsd: z.number().positive().optional(),
    monthlyUsd: z.number().positive().optional(),
    /** Warn (audit event + log line) when spend crosses this fraction of a budget. */
    warnAtFraction: z.number().gt(0).lte(1).default(0.8),
    /** Counter store unreachable: refuse (true, the default) or let requests through uncounted. */
    failClosed: z.boolean().default(true),
  })
  .strict();

const dlpActionsByClass = z
  .object({
    public: z.enum(DLP_ACTIONS).default("block"),
    internal: z.enum(DLP_ACTIONS).default("redact"),
    confidential: z.enum(DLP_ACTIONS).default("redact"),
    pii: z.enum(DLP_ACTIONS).default("route"),
    phi: z.enum(DLP_ACTIONS).default("route"),
  })
  .strict();

const projectDlpSchema = z
  .object({
    /** Findings scoring below this are ignored. */
    threshold: z.number().min(0).max(1).default(0.5),
    /** Terms never flagged (for example the company's own support number). */
    allowlist: z.array(z.string().min(1)).default([]),
    /** ISO 3166 regions whose national phone formats are recognised. */
    phoneRegions: phoneRegionsSchema,
    /** What to do with findings in the prompt, by the request's declared data class. */
    input: dlpActionsByClass.default({ public: "block", internal: "redact", confidential: "redact", pii: "route", phi: "route" }),
    /** What to do with findings in the completion. */
    output: z.enum(["allow", "block", "redact"]).default("redact"),
    /** Scanning that throws or exceeds this time blocks the request (fail closed). */
    timeoutInMs: positiveInt.default(250),
  })
  .strict();

const modelSchema = z
  .object({
    /** The name callers send as `model`. */
    name: z.string().min(1),
    /** The upstream deployment it maps to (Azure deployment name, or the platform model id). */
    deployment: z.string().min(1),
  })
  .strict();

const projectSchema = z
  .object({
    id: identifier,
    environment: z.enum(["dev", "test", "staging", "prod"]).default("dev"),
    residency: z.enum(RESIDENCIES),
    models: z.array(modelSchema).min(1, "a project needs at least one model"),
    defaultClassification: z.enum(DATA_CLASSES).default("internal"),
    /** Upper bound for `max_tokens` / `max_completion_tokens`; also the reservation when a caller sends none. */
    maxTokens: positiveInt.default(4096),
    /**
     * The output tokens reserved, and sent upstream as the cap, when a caller sets no `max_tokens`
     * (at most maxTokens; unset: maxTokens). Smaller values let bursts of short answers fit a TPM limit.
     */
    defaultMaxTokens: positiveInt.optional(),
    /**
     * Content parts DLP cannot read (images, audio, binary files, file ids and URLs): `allow` lets them
     * go upstream unread (counted on the audit event). Unset or `deny`: refused (422), whatever the class.
     */
    uninspectableInputs: z.enum(["allow", "deny"]).optional(),
    maxMessages: positiveInt.default(256),
    dlp: projectDlpSchema.default({
      threshold: 0.5,
      allowlist: [],
      phoneRegions: [...DEFAULT_PHONE_REGIONS],
      input: { public: "block", internal: "redact", confidential: "redact", pii: "route", phi: "route" },
      output: "redact",
      timeoutInMs: 250,
    }),
    limits: projectLimitsSchema.default({}),
    budget: budgetSchema.optional(),
    /** An audit event that cannot be published: fail the request (503) or keep it in the durable outbox. */
    auditOnPublishFailure: z.enum(["fail_closed", "outbox"]).default("fail_closed"),
    cache: z.object({ ttlSeconds: positiveInt.default(300) }).strict().optional(),
    /** Prompt Shields and harm categories (docs/content-safety.md); absent, nothing is screened. */
    contentSafety: contentSafetyPolicySchema.optional(),
    /** Chat settings (operationsPolicy.ts): which Azure On Your Data sources, at which hosts. */
    chat: chatPolicySchema.optional(),
    /** Responses API settings (operationsPolicy.ts): `store` is a retention decision. */
    responses: responsesPolicySchema.optional(),
    /** Embeddings settings (operationsPolicy.ts): token-array input, input count. */
    embeddings: embeddingsPolicySchema.optional(),
    tags: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const memberSchema = z
  .object({
    /** An Entra object id (GUID) or a user principal name / email. */
    principal: z.string().min(1),
    displayName: z.string().optional(),
    /** Role per project id. */
    roles: z.record(identifier, z.enum(ROLES)),
  })
  .strict();

const serviceAccountSchema = z
  .object({
    id: identifier,
    project: identifier,
    permissions: z.array(z.enum(PERMISSIONS)).min(1),
    /** CIDR blocks, IPv4 or IPv6. Empty means any address. */
    ipAllowlist: z.array(z.string().min(1)).default([]),
    limits: limitsSchema.default({}),
  })
  .strict();

const endpointAuthSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("managed-identity") }).strict(),
  z.object({ kind: z.literal("key-vault-secret"), secretName: z.string().min(1) }).strict(),
  /** Only for the local mock upstream. */
  z.object({ kind: z.literal("none") }).strict(),
]);

const endpointSchema = z
  .object({
    id: identifier,
    provider: z.enum(["azure", "openai"]),
    baseUrl: z.url(),
    region: z.string().min(1),
    residency: z.enum(RESIDENCIES),
    class: z.enum(ENDPOINT_CLASSES),
    deployments: z.array(z.string().min(1)).min(1),
    priority: z.number().int().min(0).default(100),
    apiVersion: z.string().default("2024-10-21"),
    auth: endpointAuthSchema.default({ kind: "managed-identity" }),
    timeoutInMs: positiveInt.default(60_000),
    /** The operations its deployments serve (operationsPolicy.ts); unset: chat and responses. */
    operations: endpointOperationsSchema,
  })
  .strict();

const entraSchema = z
  .object({
    issuer: z.string().min(1),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    jwksUri: z.url(),
    algorithms: z.array(z.enum(["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"])).min(1).default(["RS256"]),
    clockToleranceInSeconds: z.number().int().min(0).max(300).default(60),
  })
  .strict();

const routingSchema = z
  .object({
    /** Which endpoint classes may serve each data class. */
    allowedClasses: z
      .object({
        public: z.array(z.enum(ENDPOINT_CLASSES)).min(1).default(["cached", "standard", "zdr"]),
        internal: z.array(z.enum(ENDPOINT_CLASSES)).min(1).default(["standard", "zdr"]),
        confidential: z.array(z.enum(ENDPOINT_CLASSES)).min(1).default(["standard", "zdr"]),
        pii: z.array(z.enum(ENDPOINT_CLASSES)).min(1).default(["zdr"]),
        phi: z.array(z.enum(ENDPOINT_CLASSES)).min(1).default(["zdr"]),
      })
      .strict()
      .default({
        public: ["cached", "standard", "zdr"],
        internal: ["standard", "zdr"],
        confidential: ["standard", "zdr"],
        pii: ["zdr"],
        phi: ["zdr"],
      }),
    maxAttempts: positiveInt.max(10).default(3),
    totalDeadlineInMs: positiveInt.default(90_000),
    /** The longest an endpoint is skipped after a 429, whatever its `retry-after` says. */
    maxRetryAfterInMs: positiveInt.default(60_000),
    breaker: z
      .object({
        consecutiveFailures: positiveInt.default(5),
        errorRateThreshold: z.number().gt(0).lte(1).default(0.5),
        windowInMs: positiveInt.default(60_000),
        minimumRequests: positiveInt.default(20),
        cooldownInMs: positiveInt.default(30_000),
      })
      .strict()
      .default({ consecutiveFailures: 5, errorRateThreshold: 0.5, windowInMs: 60_000, minimumRequests: 20, cooldownInMs: 30_000 }),
  })
  .strict();

export const policySchema = z
  .object({
    version: z.literal(1),
    projects: z.array(projectSchema).min(1, "declare at least one project"),
    members: z.array(memberSchema).default([]),
    serviceAccounts: z.array(serviceAccountSchema).default([]),
    endpoints: z.array(endpointSchema).min(1, "declare at least one endpoint"),
    pricing: z.record(z.string(), priceSchema).default({}),
    entra: entraSchema.optional(),
    network: z
      .object({
        /** How many reverse proxies in front of Palisade append to x-forwarded-for. 0 trusts none. */
        trustedProxyHops: z.number().int().min(0).max(10).default(0),
      })
      .strict()
      .default({ trustedProxyHops: 0 }),
    limits: z
      .object({
        /** Largest request body accepted, in bytes. */
        maxBodyBytes: positiveInt.default(1_048_576),
      })
      .strict()
      .default({ maxBodyBytes: 1_048_576 }),
    routing: routingSchema.prefault({}),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const projectIds = new Set<string>();
    policy.projects.forEach((project, index) => {
      if (projectIds.has(project.id)) ctx.addIssue({ code: "custom", path: ["projects", index, "id"], message: `duplicate project id "${project.id}"` });
      projectIds.add(project.id);
      project.models.forEach((model, modelIndex) => {
        const served = policy.endpoints.some((endpoint) => endpoint.deployments.includes(model.deployment));
        if (!served) {
          ctx.addIssue({
            code: "custom",
            path: ["projects", index, "models", modelIndex, "deployment"],
            message: `no endpoint declares deployment "${model.deployment}"`,
          });
        }
      });
    });
    policy.serviceAccounts.forEach((account, index) => {
      if (!projectIds.has(account.project)) {
        ctx.addIssue({ code: "custom", path: ["serviceAccounts", index, "project"], message: `unknown project "${account.project}"` });
      }
    });
    policy.members.forEach((member, index) => {
      for (const projectId of Object.keys(member.roles)) {
        if (!projectIds.has(projectId)) {
          ctx.addIssue({ code: "custom", path: ["members", index, "roles", projectId], message: `unknown project "${projectId}"` });
        }
      }
    });
    const endpointIds = new Set<string>();
    policy.endpoints.forEach((endpoint, index) => {
      if (endpointIds.has(endpoint.id)) ctx.addIssue({ code: "custom", path: ["endpoints", index, "id"], message: `duplicate endpoint id "${endpoint.id}"` });
      endpointIds.add(endpoint.id);
    });
  });

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type ProjectPolicy = Policy["projects"][number];
export type ProjectDlpPolicy = ProjectPolicy["dlp"];
export type MemberPolicy = Policy["members"][number];
export type ServiceAccountPolicy = Policy["serviceAccounts"][number];
export type EndpointPolicy = Policy["endpoints"][number];
export type EndpointAuth = EndpointPolicy["auth"];
export type ModelPrice = Policy["pricing"][string];
export type RoutingPolicy = Policy["routing"];
export type EntraPolicy = NonNullable<Policy["entra"]>;
export type LimitsPolicy = ProjectPolicy["limits"];
export type BudgetPolicy = NonNullable<ProjectPolicy["budget"]>;
