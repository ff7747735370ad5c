import type { AuditPublisher } from "../audit/AuditPublisher.js";
import type { Clock } from "../clock.js";
import { invalidRequest } from "../errors.js";
import type { SecretStore, SecretVersionProperties } from "../secrets/SecretStore.js";
import { isValidSecretName } from "../secrets/secretName.js";
import { credentialAuditEvent } from "./credentialAuditEvent.js";
import type { CredentialIssuer } from "./CredentialIssuer.js";
import { loadCredentialVersions } from "./listManagedCredentials.js";
import { DAY_IN_MS, ISSUER_KINDS, type ManagedCredential, currentVersionOf, tagsForVersion } from "./managedCredential.js";

export interface RegisterCredentialInput {
  readonly credential: ManagedCredential;
  /**
   * The value in use today, with its issuer handle (e.g. an Azure key slot and its key). When absent,
   * the issuer mints the first value.
   */
  readonly existing?: { readonly value: string; readonly issuerKeyId: string; readonly slot: string | null };
}

export interface RegisterCredentialDeps {
  readonly secrets: SecretStore;
  readonly issuer: CredentialIssuer | null;
  readonly audit: AuditPublisher;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly policyVersion: string;
  readonly actorId?: string;
}

const PROJECT = /^[A-Za-z0-9_.-]{1,200}$/;

export function validateManagedCredential(credential: ManagedCredential): void {
  if (!isValidSecretName(credential.id)) throw invalidRequest("The credential name is its Key Vault secret name: 1-127 letters, digits and dashes.", "name");
  if (!ISSUER_KINDS.includes(credential.issuer)) throw invalidRequest(`issuer must be one of ${ISSUER_KINDS.join(", ")}.`, "issuer");
  if (!PROJECT.test(credential.project)) throw invalidRequest("project must be letters, digits, _ . - (a policy project id).", "project");
  if (credential.target.trim() === "" || credential.target.length > 256) throw invalidRequest("target must be 1-256 characters (see docs/rotation.md for each issuer's form).", "target");
  if (!Number.isInteger(credential.rotationPeriodInDays) || credential.rotationPeriodInDays < 1 || credential.rotationPeriodInDays > 365) {
    throw invalidRequest("The rotation period is a whole number of days between 1 and 365.", "rotationPeriod");
  }
  if (!Number.isFinite(credential.overlapInMs) || credential.overlapInMs < 0 || credential.overlapInMs >= credential.rotationPeriodInDays * DAY_IN_MS) {
    throw invalidRequest("The overlap must be shorter than the rotation period.", "overlap");
  }
  if (credential.issuer === "azure-openai" && credential.deployment === null) {
    throw invalidRequest("Azure OpenAI credentials need a deployment to verify new keys against (--deployment).", "deployment");
  }
}

/**
 * Writes the first version of a managed credential, tagged current, so that the rotator and the
 * expiry check discover it. Refuses a credential that already has a current version.
 */
export async function registerCredential(deps: RegisterCredentialDeps, input: RegisterCredentialInput): Promise<SecretVersionProperties> {
  const { credential } = input;
  validateManagedCredential(credential);
  if (currentVersionOf(await loadCredentialVersions(deps.secrets, credential.id)) !== null) {
    throw invalidRequest(`"${credential.id}" is already registered; rotate it instead (palisade credentials rotate ${credential.id} --now).`, "name");
  }
  const rotationId = `register-${deps.newId()}`;
  const expiresAtInMs = deps.clock.nowInMs() + 2 * credential.rotationPeriodInDays * DAY_IN_MS;
  let first = input.existing;
  if (first === undefined) {
    if (deps.issuer === null) throw invalidRequest(`No issuer is configured for "${credential.issuer}"; pass the current value on stdin instead.`, "issuer");
    first = await deps.issuer.mint(credential, { rotationId, slotsInUse: [], expiresAtInMs });
  }
  const stored = await deps.secrets.setSecret(credential.id, first.value, {
    tags: tagsForVersion(credential, { stage: "current", slot: first.slot, issuerKeyId: first.issuerKeyId, rotationId }),
    expiresAtInMs,
    contentType: "text/plain",
  });
  await deps.audit.publish([
    credentialAuditEvent({
      type: "key_created",
      actorId: deps.actorId ?? "cli",
      project: credential.project,
      environment: credential.environment,
      status: "success",
      atInMs: deps.clock.nowInMs(),
      policyVersion: deps.policyVersion,
      details: { credentialId: credential.id, issuer: credential.issuer, version: stored.version, stage: "current", slot: first.slot, issuerKeyId: first.issuerKeyId },
      newEventId: deps.newId,
    }),
  ]);
  return stored;
}
