import { SecretClient } from "@azure/keyvault-secrets";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { quietAzureSdkTracing } from "../adapters/azure/quietSdkTracing.js";
import { createCredential } from "../adapters/identity/createCredential.js";
import { KeyVaultSecretStore } from "../adapters/keyvault/KeyVaultSecretStore.js";
import { JsonTokenRankFiles } from "../adapters/tokenizer/JsonTokenRankFiles.js";
import { keyVaultClientOptions } from "../adapters/keyvault/keyVaultClientOptions.js";
import { JsonLogger } from "../adapters/logging/JsonLogger.js";
import { OpenAiCompletionProvider } from "../adapters/openai/OpenAiCompletionProvider.js";
import { TableApiKeyStore } from "../adapters/tables/TableApiKeyStore.js";
import { TableResponseCache } from "../adapters/tables/TableResponseCache.js";
import { TableStoredResponseOwners } from "../adapters/tables/TableStoredResponseOwners.js";
import { TableUsageCounterStore } from "../adapters/tables/TableUsageCounterStore.js";
import { ApiKeyService } from "../core/auth/ApiKeyService.js";
import { Authenticator } from "../core/auth/Authenticator.js";
import { type Clock } from "../core/clock.js";
import { ModelsService } from "../core/gateway/ModelsService.js";
import { UngovernedEndpoints } from "../core/gateway/UngovernedEndpoints.js";
import { type StoredResponseOwners } from "../core/gateway/operations/responses/StoredResponseOwners.js";
import { AuditEventFactory } from "../core/audit/AuditEventFactory.js";
import { ensureError } from "../core/errors.js";
import { LEASE_NEXT_WINDOWS_AHEAD_IN_MS, LimitGuard } from "../core/limits/LimitGuard.js";
import { ContentSafetyScreen } from "../core/safety/ContentSafetyScreen.js";
import { ContentSafetyStage } from "../core/safety/ContentSafetyStage.js";
import { ContentSafetyCheck } from "../core/safety/ContentSafetyCheck.js";
import { countWithUpperBoundUntilLoadedFor, loadTokenEncodingsFor } from "../core/limits/estimatePromptTokens.js";
import { useTokenRankSource } from "../core/limits/tokenEncodings.js";
import { type LoadedPolicy } from "../core/policy/parsePolicy.js";
import { type Policy } from "../core/policy/schema.js";
import { readCurrentCredential } from "../core/rotation/readCurrentCredential.js";
import { EndpointHealth } from "../core/routing/EndpointHealth.js";
import { type SecretStore } from "../core/secrets/SecretStore.js";
import { randomUuid } from "../adapters/random/randomUuid.js";
import { type AuditComponents, createAuditComponents } from "./audit.js";
import { auditConfigFrom } from "./auditConfig.js";
import { createSubjectProtector, recordPolicyChangesAtStartUp } from "./compliance.js";
import { deferredContentSafety } from "./deferredAdapters.js";
import { loadPolicyFile } from "./loadPolicyFile.js";
import { type Gateway, createGateway } from "./gateway.js";
import { type Settings, parseSettings } from "./settings.js";
import { type Telemetry, getTelemetry } from "./telemetry.js";
import { TABLES, createStorageClients } from "./storage.js";
import { systemClock } from "./systemClock.js";
import { tableResilience } from "./tableResilience.js";
import { giveWayToRequests } from "./requestsInFlight.js";
import { beforeEachMinute } from "./beforeEachMinute.js";

export { systemClock } from "./systemClock.js";

export interface AppServices {
  readonly settings: Settings;
  readonly policy: LoadedPolicy;
  readonly clock: Clock;
  readonly logger: JsonLogger;
  /** The governed pipeline, its operations (chat, ...) and the usage flush. */
  readonly gateway: Gateway;
  /** Refuses (and records) every /v1 and /openai path that is not a governed route. */
  readonly ungoverned: UngovernedEndpoints;
  readonly models: ModelsService;
  readonly apiKeys: ApiKeyService;
  readonly apiKeyStore: TableApiKeyStore;
  readonly authenticator: Authenticator;
  readonly limits: LimitGuard;
  readonly usageStore: TableUsageCounterStore;
  readonly health: EndpointHealth;
  readonly secrets: SecretStore | null;
  readonly audit: AuditComponents;
  readonly telemetry: Telemetry;
  /** Which project made each stored Response (the purge timer deletes expired records). */
  readonly responseOwners: StoredResponseOwners;
  close(): Promise<void>;
}

const UPSTREAM_KEY_CACHE_IN_MS = 5 * 60_000;

/** Reads an upstream key through a short cache (shorter than any rotation overlap, so rotation never breaks a call). */
function cachedSecretReader(secrets: SecretStore, clock: Clock): (name: string) => Promise<string> {
  const cache = new Map<string, { value: string; untilInMs: number }>();
  return async (name) => {
    const now = clock.nowInMs();
    const hit = cache.get(name);
    if (hit && hit.untilInMs > now) return hit.value;
    // The version tagged current (or previous, inside its overlap) — never a pending one mid-rotation —
    // and never one that is disabled, expired or not yet valid.
    const credential = await readCurrentCredential(secrets, name, clock);
    if (!credential) throw new Error(`Key Vault secret ${name} has no usable current version`);
    cache.set(name, { value: credential.value, untilInMs: now + UPSTREAM_KEY_CACHE_IN_MS });
    return credential.value;
  };
}

/** The HMAC key for prompt digests: from Key Vault; created there on first use on the local stack only. */
async function digestKeyFrom(secrets: SecretStore | null, settings: Settings): Promise<Uint8Array | null> {
  if (!secrets) return null;
  const existing = await secrets.getSecret(settings.PALISADE_AUDIT_DIGEST_SECRET);
  if (existing) return Buffer.from(existing.value, "base64");
  if (!settings.PALISADE_LOCAL_STACK) throw new Error(`Key Vault secret ${settings.PALISADE_AUDIT_DIGEST_SECRET} (the audit digest key) is missing; see docs/deploy.md`);
  const value = randomBytes(32).toString("base64");
  await secrets.setSecret(settings.PALISADE_AUDIT_DIGEST_SECRET, value, { contentType: "application/octet-stream;base64", tags: { purpose: "audit-digest" } });
  return Buffer.from(value, "base64");
}

/** Every model name a request can count tokens for: the projects' models and their deployments. */
function policyModelNames(policy: Policy): string[] {
  return policy.projects.flatMap((project) => project.models.flatMap((model) => [model.name, model.deployment]));
}

/** How long start-up work left to run after the services are built may hold up `close()`. */
const BACKGROUND_CLOSE_TIMEOUT_IN_MS = 5_000;
/**
 * The token encodings load this long after start-up: their ranks cost a cold instance ~0.4 s of CPU
 * (o200k_base), which its first answers need not wait for.
 */
const TOKEN_ENCODINGS_DELAY_IN_MS = 1_000;
/**
 * The ranks as JSON that `npm run build` writes to dist/bundle/ranks/, seen from the bundle's chunks
 * (dist/bundle/chunks/) or its entry files; an unbundled build has none and imports gpt-tokenizer's.
 */
const TOKEN_RANK_DIRECTORIES = [new URL("../ranks/", import.meta.url), new URL("./ranks/", import.meta.url)];
/** The policy-change trail waits this long after start-up, so a cold instance's first requests go first. */
const POLICY_TRAIL_DELAY_IN_MS = 2_000;

/**
 * Builds the app's services. Start-up is what a cold instance's first request waits for, so the
 * independent steps run at once (policy, telemetry, the Key Vault CA; then the digest key and the
 * local tables), the Service Bus link opens meanwhile, and what the first answers need not wait for
 * (the token encodings, the policy-change trail) runs later, in the background.
 */
export async function createAppServices(settings: Settings, clock: Clock = systemClock): Promise<AppServices> {
  // The Azure SDKs' spans are never exported: their tracing allocates nothing per call (issue 22).
  quietAzureSdkTracing();
  const logger = new JsonLogger(settings.PALISADE_LOG_LEVEL);
  const credential = createCredential({ managedIdentityClientId: settings.AZURE_CLIENT_ID, local: settings.PALISADE_LOCAL_STACK });
  // The policy is read and checked while the connections open: they need only the settings.
  const policyLoaded = loadPolicyFile(settings.PALISADE_POLICY);
  // Awaited below; a failure meanwhile (the connections' too) must not count as unhandled.
  policyLoaded.catch(() => undefined);
  // Read at once (a few KB), not awaited: a read would wait for the event loop's next turn, after
  // the host has loaded and listens, and the connections below would open only then.
  const caCertPem = settings.AZURE_KEYVAULT_CA_CERT ? readFileSync(settings.AZURE_KEYVAULT_CA_CERT, "utf8") : undefined;
  const telemetry = await getTelemetry(settings, { logger, credential, traceSampleRatio: settings.PALISADE_TRACE_SAMPLE_RATIO });
  // One breaker and bounded tries for every Table client of the app: an outage is a fast 503, not a stall.
  const tables = tableResilience(settings, { clock, logger });
  const storage = createStorageClients(settings, credential, tables);
  const secrets = settings.AZURE_KEYVAULT_URL
    ? new KeyVaultSecretStore(new SecretClient(settings.AZURE_KEYVAULT_URL, credential, keyVaultClientOptions({ caCertPem })))
    : null;
  const audit = createAuditComponents(auditConfigFrom(settings, { credential, caCertPem, clock, logger, observeOutbox: (outbox) => telemetry.observeOutbox(outbox), tableOptions: tables }));
  // Not awaited: the link opens while the rest starts; a first publish that comes sooner waits for it.
  const publisherOpened = audit.openPublisher();

  const apiKeyStore = new TableApiKeyStore(storage.table(TABLES.apiKeys));
  // Finished minute windows and stopped writers' marks are pruned as projects are written (no TTL in Table Storage).
  const usageStore = new TableUsageCounterStore(storage.table(TABLES.usage), {
    housekeeping: {
      now: () => clock.nowInMs(),
      onPruned: (project, pruned) => {
        if (pruned.minuteRows + pruned.marks > 0) logger.info("usage counters pruned", { project, minuteRows: pruned.minuteRows, marks: pruned.marks });
      },
    },
  });
  const cacheStore = new TableResponseCache(storage.table(TABLES.responseCache), clock);
  // In Azure the table is provisioned by infra/; on the local stack it is created on first use.
  const responseOwners = new TableStoredResponseOwners(storage.table(TABLES.storedResponseOwners), {
    clock,
    retentionInMs: settings.PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS * 86_400_000,
    createTableIfMissing: settings.PALISADE_LOCAL_STACK,
  });
  // Started before the policy is checked, so their round trips overlap its parse and the host's start.
  const connected = Promise.all([
    digestKeyFrom(secrets, settings),
    // In Azure the tables are provisioned by infra/; on the local stack they are created here.
    settings.PALISADE_LOCAL_STACK ? Promise.all([usageStore.createTable(), cacheStore.createTableIfMissing()]) : undefined,
  ]);
  connected.catch(() => undefined);
  const [policy, [digestKey], tokens] = await Promise.all([
    policyLoaded,
    connected,
    // jose (Entra ID tokens) only when the policy trusts an issuer.
    policyLoaded.then(({ policy: { entra } }) => (entra ? import("../adapters/entra/JoseEntraTokenVerifier.js").then(({ JoseEntraTokenVerifier }) => new JoseEntraTokenVerifier(entra, { clock })) : null)),
  ]).catch(async (error: unknown) => {
    // The link may be open already: an instance that cannot start must not be kept alive by it.
    await audit.close();
    throw error;
  });
  // The token encodings load after the first answers (TOKEN_ENCODINGS_DELAY_IN_MS); until then a
  // limit counts a prompt's UTF-8 bytes, never fewer than its tokens, and refuses only on the exact count.
  const modelNames = policyModelNames(policy.policy);
  useTokenRankSource(new JsonTokenRankFiles(TOKEN_RANK_DIRECTORIES));
  countWithUpperBoundUntilLoadedFor(modelNames);
  const apiKeys = new ApiKeyService({ store: apiKeyStore, clock, random: (bytes) => randomBytes(bytes) });
  const authenticator = new Authenticator({ apiKeys, tokens, policy: policy.policy });
  const limits = new LimitGuard({
    store: usageStore,
    clock,
    policy: policy.policy,
    logger,
    leaseFraction: settings.PALISADE_LIMITS_LEASE_FRACTION,
    settleEveryInMs: settings.PALISADE_LIMITS_SETTLE_EVERY_IN_MS,
    // Unique per process: the name this instance's budget holds are written under.
    owner: `${process.pid}-${randomUUID().slice(0, 8)}`,
    holdExpiryInMs: settings.PALISADE_LIMITS_HOLD_EXPIRY_IN_MS,
  });
  const routing = policy.policy.routing;
  const health = new EndpointHealth(clock, routing.breaker, { maxRetryAfterInMs: routing.maxRetryAfterInMs, probeLeaseInMs: routing.totalDeadlineInMs });
  telemetry.observeEndpointHealth(health, policy.policy.endpoints);

  const provider = new OpenAiCompletionProvider({ credential, readApiKey: secrets ? cachedSecretReader(secrets, clock) : null });
  // A separate key for cache entries, derived so that one Key Vault secret serves both purposes.
  const cacheSecret = digestKey ? createHmac("sha256", digestKey).update("palisade/response-cache/v1").digest() : randomBytes(32);
  // End-user ids (`user`, x-palisade-subject) reach audit events only pseudonymised and encrypted.
  const subjects = digestKey ? createSubjectProtector({ digestKey, storage, clock, createTableIfMissing: settings.PALISADE_LOCAL_STACK }) : null;

  // Content safety results are cached under HMACs with their own key, derived like the response cache's.
  const safetyCacheKey = digestKey ? createHmac("sha256", digestKey).update("palisade/content-safety-cache/v1").digest() : randomBytes(32);
  const safetyEndpoint = settings.CONTENT_SAFETY_ENDPOINT;
  const contentSafety = new ContentSafetyStage(
    safetyEndpoint
      ? new ContentSafetyScreen({
          // The Content Safety SDK loads at the first screening (only projects that ask for it screen).
          safety: deferredContentSafety(async () => {
            const { AzureContentSafety } = await import("../adapters/contentsafety/AzureContentSafety.js");
            return new AzureContentSafety({ endpoint: safetyEndpoint, ...(settings.CONTENT_SAFETY_KEY ? { key: settings.CONTENT_SAFETY_KEY } : { credential }) });
          }),
          clock,
          cacheKey: safetyCacheKey,
        })
      : null,
  );

  const gateway = createGateway(
    {
      policy: policy.policy,
      policyVersion: policy.version,
      clock,
      logger,
      // The request path's event ids: the same v4 UUIDs, a fraction of randomUUID's garbage.
      newEventId: randomUuid,
      authenticator,
      limits,
      health,
      auditPublisherFor: (project) => audit.publisherFor(project?.auditOnPublishFailure ?? "fail_closed"),
      refusalFallback: audit.publisherFor("outbox"),
      cache: { store: cacheStore, secret: cacheSecret },
      digestKey,
      subjects,
      telemetry: telemetry.gateway,
      checks: [new ContentSafetyCheck(contentSafety)],
      contentSafety,
    },
    { provider, responseOwners, usageStore },
  );
  // Settled usage is written in rounds and idle leases handed back; a timer keeps that going when traffic stops.
  // The same timer renews this instance's budget holds and gives back those of dead instances, so it always runs.
  const settleEveryInMs = settings.PALISADE_LIMITS_SETTLE_EVERY_IN_MS;
  const flushEveryInMs = settleEveryInMs > 0 ? settleEveryInMs : Math.floor(settings.PALISADE_LIMITS_HOLD_EXPIRY_IN_MS / 3);
  // With PALISADE_AUDIT_GIVE_WAY_IN_MS above 0 (off by default), each round first waits for a gap between requests (bounded, light load only).
  const giveWay = giveWayToRequests(settings.PALISADE_AUDIT_GIVE_WAY_IN_MS);
  const usageFlusher = setInterval(
    () =>
      void giveWay()
        .then(() => gateway.usageFlush.run())
        .catch((error: unknown) => logger.error("usage flush failed", { error: ensureError(error).name })),
    flushEveryInMs,
  );
  usageFlusher.unref();
  // The counters in use are leased for the windows that start with the next minute (and the next day's or month's
  // budget when that turns too) before it starts: the first requests after the boundary wait for no store round trip.
  const nextWindowsLeaser = beforeEachMinute(clock, LEASE_NEXT_WINDOWS_AHEAD_IN_MS, () =>
    void limits.leaseNextWindows().catch((error: unknown) => logger.error("next windows not leased", { error: ensureError(error).name })),
  );
  const ungoverned = new UngovernedEndpoints({
    policy: policy.policy,
    authenticator,
    events: new AuditEventFactory({ clock, newEventId: randomUuid, policyVersion: policy.version }),
    auditPublisherFor: (project) => audit.publisherFor(project?.auditOnPublishFailure ?? "fail_closed"),
    logger,
  });
  const models = new ModelsService({ policy: policy.policy, authenticator, createdAtInSeconds: Math.floor(clock.nowInMs() / 1000) });

  // A new policy version (or changed models or endpoints) is an audit event, recorded once across
  // instances. No request needs it: it runs in the background (its publisher falls back to the
  // outbox, so a broker that is away loses nothing).
  let policyTrail: Promise<void> | null = null;
  const recordPolicyTrail = (): Promise<void> =>
    (policyTrail ??= publisherOpened
      .then(() => recordPolicyChangesAtStartUp({ storage, settings, policy, audit, clock, logger }))
      .then(
        () => undefined,
        () => logger.error("policy change trail could not be recorded"),
      ));
  const tokenEncodingsTimer = setTimeout(
    () => void loadTokenEncodingsFor(modelNames).catch((error: unknown) => logger.error("token encodings did not load; limits count exactly when they must", { error: ensureError(error).name })),
    TOKEN_ENCODINGS_DELAY_IN_MS,
  );
  tokenEncodingsTimer.unref();
  // After the first requests of a cold instance, not among them; close() records it if it has not run.
  const policyTrailTimer = setTimeout(() => void recordPolicyTrail(), POLICY_TRAIL_DELAY_IN_MS);
  policyTrailTimer.unref();
  logger.info("palisade started", { policyVersion: policy.version.slice(0, 12), projects: policy.policy.projects.length, endpoints: policy.policy.endpoints.length });
  return {
    settings,
    policy,
    clock,
    logger,
    gateway,
    ungoverned,
    models,
    apiKeys,
    apiKeyStore,
    authenticator,
    limits,
    usageStore,
    health,
    secrets,
    audit,
    telemetry,
    responseOwners,
    async close() {
      clearInterval(usageFlusher);
      nextWindowsLeaser.stop();
      clearTimeout(policyTrailTimer);
      clearTimeout(tokenEncodingsTimer);
      await Promise.race([recordPolicyTrail(), new Promise((resolve) => setTimeout(resolve, BACKGROUND_CLOSE_TIMEOUT_IN_MS).unref())]);
      // Before the audit publisher closes: budget warnings from the last write are audit events.
      await gateway.usageFlush.run({ everything: true }).catch((error: unknown) => logger.error("usage not written at shutdown", { error: ensureError(error).name }));
      await audit.close();
      await telemetry.shutdown();
    },
  };
}

let services: Promise<AppServices> | undefined;

/** Closes the services if they were built (connections that would otherwise keep a process alive). */
export async function closeAppServices(): Promise<void> {
  if (!services) return;
  await (await services.catch(() => null))?.close().catch(() => undefined);
  services = undefined;
}

/** The app's services, built once per process from its settings on first use. */
export function getAppServices(): Promise<AppServices> {
  services ??= createAppServices(parseSettings(process.env)).catch((error: unknown) => {
    services = undefined;
    throw error;
  });
  return services;
}
