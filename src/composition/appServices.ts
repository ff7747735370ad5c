import { SecretClient } from "@azure/keyvault-secrets";
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
import { type Clock } from "../core/clock.js";
import { ModelsService } from "../core/gateway/ModelsService.js";
import { UngovernedEndpoints } from "../core/gateway/UngovernedEndpoints.js";
import { type StoredResponseOwners } from "../core/gateway/operations/responses/StoredResponseOwners.js";
import { ownersWithLegacyRoutes } from "../core/gateway/operations/responses/ownersWithLegacyRoutes.js";
import { AuditEventFactory } from "../core/audit/AuditEventFactory.js";
import { ensureError } from "../core/errors.js";
import { type EndpointHealth } from "../core/routing/EndpointHealth.js";
import { ContentSafetyCheck } from "../core/safety/ContentSafetyCheck.js";
import { type LimitGuard } from "../core/limits/LimitGuard.js";
import { type ApiKeyService } from "../core/auth/ApiKeyService.js";
import { type Authenticator } from "../core/auth/Authenticator.js";
import { type TableUsageCounterStore } from "../adapters/tables/TableUsageCounterStore.js";
import { countWithUpperBoundUntilLoadedFor, loadTokenEncodingsFor } from "../core/limits/estimatePromptTokens.js";
import { useTokenRankSource } from "../core/limits/tokenEncodings.js";
import { type LoadedPolicy } from "../core/policy/parsePolicy.js";
import { type Policy } from "../core/policy/schema.js";
import { type SecretStore } from "../core/secrets/SecretStore.js";
import { randomUuid } from "../adapters/random/randomUuid.js";
import { type AuditComponents, createAuditComponents } from "./audit.js";
import { auditConfigFrom } from "./auditConfig.js";
import { createAuthentication, loadTokenVerifier } from "./authentication.js";
import { createSubjectProtector } from "./compliance.js";
import { createContentSafetyStage } from "./contentSafety.js";
import { derivedKey, digestKeyFrom } from "./digestKeys.js";
import { createEndpointHealth } from "./endpointHealth.js";
import { schedulePolicyTrail } from "./policyTrail.js";
import { createResponseOwners } from "./responseOwners.js";
import { cachedSecretReader } from "./upstreamKeyReader.js";
import { createLimitGuard, createUsageStore, startLimitTimers } from "./usageLimits.js";
import { loadPolicyFile } from "./loadPolicyFile.js";
import { type Gateway, createGateway } from "./gateway.js";
import { type Settings, parseSettings } from "./settings.js";
import { type Telemetry, getTelemetry } from "./telemetry.js";
import { TABLES, createStorageClients } from "./storage.js";
import { systemClock } from "./systemClock.js";
import { tableResilience } from "./tableResilience.js";

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
  const usageStore = createUsageStore(storage, clock, logger);
  const cacheStore = new TableResponseCache(storage.table(TABLES.responseCache), clock);
  const responseOwners = createResponseOwners(storage, settings, clock);
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
    policyLoaded.then(({ policy: loaded }) => loadTokenVerifier(loaded, clock)),
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
  const { apiKeys, authenticator } = createAuthentication({ apiKeyStore, tokens, policy: policy.policy, clock });
  const limits = createLimitGuard({ settings, store: usageStore, clock, policy: policy.policy, logger });
  const health = createEndpointHealth(policy.policy, clock, telemetry);

  const provider = new OpenAiCompletionProvider({ credential, readApiKey: secrets ? cachedSecretReader(secrets, clock) : null });
  // Separate keys for cache entries and content safety results, derived so that one Key Vault secret serves every purpose.
  const cacheSecret = derivedKey(digestKey, "palisade/response-cache/v1");
  // End-user ids (`user`, x-palisade-subject) reach audit events only pseudonymised and encrypted.
  const subjects = digestKey ? createSubjectProtector({ digestKey, storage, clock, createTableIfMissing: settings.PALISADE_LOCAL_STACK }) : null;
  const contentSafety = createContentSafetyStage({ settings, credential, clock, cacheKey: derivedKey(digestKey, "palisade/content-safety-cache/v1") });

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
    // Owner records of session 12 builds lack model and endpoint: read back where a create would have gone.
    { provider, responseOwners: ownersWithLegacyRoutes(responseOwners, policy.policy), usageStore },
  );
  const limitTimers = startLimitTimers({ settings, clock, logger, limits, usageFlush: gateway.usageFlush });
  const ungoverned = new UngovernedEndpoints({
    policy: policy.policy,
    authenticator,
    events: new AuditEventFactory({ clock, newEventId: randomUuid, policyVersion: policy.version }),
    auditPublisherFor: (project) => audit.publisherFor(project?.auditOnPublishFailure ?? "fail_closed"),
    logger,
  });
  const models = new ModelsService({ policy: policy.policy, authenticator, createdAtInSeconds: Math.floor(clock.nowInMs() / 1000) });

  const policyTrail = schedulePolicyTrail({ publisherOpened, storage, settings, policy, audit, clock, logger });
  const tokenEncodingsTimer = setTimeout(
    () => void loadTokenEncodingsFor(modelNames).catch((error: unknown) => logger.error("token encodings did not load; limits count exactly when they must", { error: ensureError(error).name })),
    TOKEN_ENCODINGS_DELAY_IN_MS,
  );
  tokenEncodingsTimer.unref();
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
      limitTimers.stop();
      policyTrail.stop();
      clearTimeout(tokenEncodingsTimer);
      // The trail is recorded now if it has not run.
      await Promise.race([policyTrail.record(), new Promise((resolve) => setTimeout(resolve, BACKGROUND_CLOSE_TIMEOUT_IN_MS).unref())]);
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
