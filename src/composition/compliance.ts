import { SecretClient } from "@azure/keyvault-secrets";
import { randomBytes, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { BlobComplianceReportStore } from "../adapters/compliance/BlobComplianceReportStore.js";
import { createCredential } from "../adapters/identity/createCredential.js";
import { KeyVaultSecretStore } from "../adapters/keyvault/KeyVaultSecretStore.js";
import { keyVaultClientOptions } from "../adapters/keyvault/keyVaultClientOptions.js";
import { JsonLogger } from "../adapters/logging/JsonLogger.js";
import { POLICY_SNAPSHOTS_TABLE, TablePolicySnapshotStore } from "../adapters/tables/TablePolicySnapshotStore.js";
import { SUBJECT_KEYS_TABLE, TableSubjectKeyStore } from "../adapters/tables/TableSubjectKeyStore.js";
import { type Clock } from "../core/clock.js";
import { ComplianceNightly } from "../core/compliance/ComplianceNightly.js";
import { type Logger } from "../core/logger.js";
import { type Policy } from "../core/policy/schema.js";
import { type RecordPolicyChangesResult, recordPolicyChanges } from "../core/policyTrail/recordPolicyChanges.js";
import { DataSubjectRequests } from "../core/privacy/DataSubjectRequests.js";
import { SubjectProtector, subjectPepperFrom } from "../core/privacy/SubjectProtector.js";
import { type SecretStore } from "../core/secrets/SecretStore.js";
import { type AuditComponents } from "./audit.js";
import { type CliServices } from "./cliServices.js";
import { type Settings } from "./settings.js";
import { type StorageClients, createStorageClients } from "./storage.js";

export { POLICY_SNAPSHOTS_TABLE, SUBJECT_KEYS_TABLE };

type AuditParts = Pick<AuditComponents, "ledger" | "anchor" | "signatureVerifier" | "checkpointer"> & Partial<Pick<AuditComponents, "outbox" | "deadLetters" | "deadLetterQueue">>;

/** Project id -> tags, from the policy in force (events carry no tags). */
export function projectTagsOf(policy: Policy): Record<string, Record<string, string>> {
  return Object.fromEntries(policy.projects.map((project) => [project.id, { ...project.tags }]));
}

/** The nightly job's use case, writing to the compliance container. */
export async function createComplianceNightly(deps: {
  readonly audit: AuditParts;
  readonly storage: StorageClients;
  readonly settings: Settings;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly logger: Logger;
}): Promise<ComplianceNightly> {
  const container = (await deps.storage.blobService()).getContainerClient(deps.settings.PALISADE_COMPLIANCE_CONTAINER);
  return new ComplianceNightly({
    ledger: deps.audit.ledger,
    anchor: deps.audit.anchor,
    signatureVerifier: deps.audit.signatureVerifier,
    checkpointer: deps.audit.checkpointer,
    reports: new BlobComplianceReportStore(container, { createContainerIfMissing: deps.settings.PALISADE_LOCAL_STACK }),
    clock: deps.clock,
    logger: deps.logger,
    projectTags: projectTagsOf(deps.policy),
    ...(deps.audit.outbox && deps.audit.deadLetters
      ? { backlog: { outbox: deps.audit.outbox, deadLetters: deps.audit.deadLetters, deadLetterQueue: deps.audit.deadLetterQueue ?? null } }
      : {}),
  });
}

let nightly: Promise<ComplianceNightly> | undefined;

/** The timer's use case, built once per process from the app's services. */
export function getComplianceNightly(): Promise<ComplianceNightly> {
  nightly ??= (async () => {
    const { getAppServices } = await import("./appServices.js");
    const services = await getAppServices();
    const storage = createStorageClients(services.settings, createCredential({ managedIdentityClientId: services.settings.AZURE_CLIENT_ID, local: services.settings.PALISADE_LOCAL_STACK }));
    return createComplianceNightly({ audit: services.audit, storage, settings: services.settings, policy: services.policy.policy, clock: services.clock, logger: services.logger });
  })().catch((error: unknown) => {
    nightly = undefined;
    throw error;
  });
  return nightly;
}

/**
 * The subject protector over the `SubjectKeys` table. The pepper is derived from the audit digest
 * key (the Key Vault secret PALISADE_AUDIT_DIGEST_SECRET), as the response-cache secret is.
 */
export function createSubjectProtector(deps: { readonly digestKey: Uint8Array; readonly storage: StorageClients; readonly clock: Clock; readonly createTableIfMissing: boolean }): SubjectProtector {
  return new SubjectProtector({
    pepper: subjectPepperFrom(deps.digestKey),
    keys: new TableSubjectKeyStore(deps.storage.table(SUBJECT_KEYS_TABLE), { createTableIfMissing: deps.createTableIfMissing }),
    random: (bytes) => randomBytes(bytes),
    clock: deps.clock,
  });
}

/** The audit digest key from Key Vault, without creating it (the app creates it on the local stack). */
export async function readDigestKey(secrets: SecretStore, settings: Settings): Promise<Uint8Array> {
  const secret = await secrets.getSecret(settings.PALISADE_AUDIT_DIGEST_SECRET);
  if (secret === null) throw new Error(`Key Vault secret ${settings.PALISADE_AUDIT_DIGEST_SECRET} (the audit digest key) is missing: no subject can have been recorded yet`);
  return Buffer.from(secret.value, "base64");
}

/** `palisade compliance run`: the same use case as the timer, from the CLI's settings. */
export async function complianceNightlyForCli(services: CliServices): Promise<ComplianceNightly> {
  const settings = services.settings();
  const [audit, policy] = await Promise.all([services.audit(), services.policy()]);
  return createComplianceNightly({ audit, storage: services.storage(), settings, policy: policy.policy, clock: { nowInMs: () => Date.now() }, logger: new JsonLogger("warn") });
}

/** `palisade dsr export|erase`: subject keys from Table storage, the pepper from Key Vault, events to `_system` (fail closed). */
export async function dataSubjectRequestsForCli(services: CliServices): Promise<DataSubjectRequests> {
  const settings = services.settings();
  if (!settings.AZURE_KEYVAULT_URL) throw new Error("set AZURE_KEYVAULT_URL: subject pseudonyms are keyed by the audit digest key in Key Vault");
  const credential = createCredential({ managedIdentityClientId: settings.AZURE_CLIENT_ID, local: settings.PALISADE_LOCAL_STACK });
  const caCertPem = settings.AZURE_KEYVAULT_CA_CERT ? await readFile(settings.AZURE_KEYVAULT_CA_CERT, "utf8") : undefined;
  const secrets = new KeyVaultSecretStore(new SecretClient(settings.AZURE_KEYVAULT_URL, credential, keyVaultClientOptions({ caCertPem })));
  const clock: Clock = { nowInMs: () => Date.now() };
  const [audit, digestKey, policyVersion] = await Promise.all([
    services.audit(),
    readDigestKey(secrets, settings),
    services.policy().then(
      (loaded) => loaded.version,
      () => "unknown",
    ),
  ]);
  return new DataSubjectRequests({
    ledger: audit.ledger,
    protector: createSubjectProtector({ digestKey, storage: services.storage(), clock, createTableIfMissing: settings.PALISADE_LOCAL_STACK }),
    publisher: audit.publisherFor("fail_closed"),
    clock,
    logger: new JsonLogger("warn"),
    newEventId: randomUUID,
    policyVersion,
    actorId: "cli",
  });
}

/**
 * Start-up: record a change of policy, models or endpoints once across instances. Never throws for
 * a publish failure (the change stays pending and the next start-up publishes it).
 */
export async function recordPolicyChangesAtStartUp(deps: {
  readonly storage: StorageClients;
  readonly settings: Settings;
  readonly policy: { readonly policy: Policy; readonly version: string };
  readonly audit: Pick<AuditComponents, "publisherFor">;
  readonly clock: Clock;
  readonly logger: Logger;
}): Promise<RecordPolicyChangesResult> {
  return recordPolicyChanges({
    store: new TablePolicySnapshotStore(deps.storage.table(POLICY_SNAPSHOTS_TABLE), { createTableIfMissing: deps.settings.PALISADE_LOCAL_STACK }),
    publisher: deps.audit.publisherFor("outbox"),
    policy: deps.policy.policy,
    version: deps.policy.version,
    clock: deps.clock,
    logger: deps.logger,
  });
}
