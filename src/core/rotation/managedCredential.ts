import type { SecretVersionProperties } from "../secrets/SecretStore.js";

/**
 * A managed credential is one Key Vault secret; each version is one credential value, and its tags
 * say what it is and where it stands in rotation. Tags are the registry: there is no credentials
 * section in the policy, so the rotator discovers credentials by `palisade-managed=true`.
 * Key Vault allows 15 tags per version; these are 12.
 */
export const CREDENTIAL_TAGS = {
  managed: "palisade-managed",
  issuer: "issuer",
  project: "project",
  environment: "environment",
  /** Issuer-specific reference: an ARM account id, `projectId/serviceAccountName`, or a service account id. */
  target: "target",
  /** Azure OpenAI only: a chat deployment to verify a new key against. */
  deployment: "deployment",
  rotationPeriodInDays: "rotation-period-in-days",
  overlapInSeconds: "overlap-in-seconds",
  stage: "stage",
  slot: "slot",
  issuerKeyId: "issuer-key-id",
  rotationId: "rotation-id",
} as const;

export const ISSUER_KINDS = ["azure-openai", "openai", "palisade"] as const;
export type IssuerKind = (typeof ISSUER_KINDS)[number];

/** pending -> current -> previous -> retired; failed for a pending version that did not verify. */
export const ROTATION_STAGES = ["pending", "current", "previous", "retired", "failed"] as const;
export type RotationStage = (typeof ROTATION_STAGES)[number];

export const DAY_IN_MS = 86_400_000;

/** What a managed credential is, read from its versions' tags. No value in here. */
export interface ManagedCredential {
  /** The Key Vault secret name. */
  readonly id: string;
  readonly issuer: IssuerKind;
  readonly project: string;
  readonly environment: string;
  readonly target: string;
  readonly deployment: string | null;
  readonly rotationPeriodInDays: number;
  readonly overlapInMs: number;
}

/** One version of a managed credential: its properties and rotation tags, never its value. */
export interface CredentialVersion {
  readonly version: string;
  readonly stage: RotationStage | null;
  readonly slot: string | null;
  readonly issuerKeyId: string | null;
  readonly rotationId: string | null;
  readonly enabled: boolean;
  readonly createdAtInMs: number;
  readonly updatedAtInMs: number;
  readonly expiresAtInMs: number | null;
  readonly notBeforeInMs: number | null;
  readonly tags: Readonly<Record<string, string>>;
}

const isIssuer = (value: string | undefined): value is IssuerKind => ISSUER_KINDS.some((kind) => kind === value);
const isStage = (value: string | undefined): value is RotationStage => ROTATION_STAGES.some((stage) => stage === value);
const nonEmpty = (value: string | undefined): string | null => (value === undefined || value.trim() === "" ? null : value);

export function isManagedTags(tags: Readonly<Record<string, string>>): boolean {
  return tags[CREDENTIAL_TAGS.managed] === "true";
}

/** The credential's description from one version's tags; null when the tags do not describe one. */
export function credentialFromTags(id: string, tags: Readonly<Record<string, string>>): ManagedCredential | null {
  if (!isManagedTags(tags)) return null;
  const issuer = tags[CREDENTIAL_TAGS.issuer];
  const project = nonEmpty(tags[CREDENTIAL_TAGS.project]);
  const target = nonEmpty(tags[CREDENTIAL_TAGS.target]);
  const period = Number(tags[CREDENTIAL_TAGS.rotationPeriodInDays]);
  const overlap = Number(tags[CREDENTIAL_TAGS.overlapInSeconds]);
  if (!isIssuer(issuer) || project === null || target === null) return null;
  if (!Number.isFinite(period) || period <= 0 || !Number.isFinite(overlap) || overlap < 0) return null;
  return {
    id,
    issuer,
    project,
    environment: nonEmpty(tags[CREDENTIAL_TAGS.environment]) ?? "default",
    target,
    deployment: nonEmpty(tags[CREDENTIAL_TAGS.deployment]),
    rotationPeriodInDays: period,
    overlapInMs: overlap * 1000,
  };
}

export function toCredentialVersion(properties: Omit<SecretVersionProperties, "name">): CredentialVersion {
  const stage = properties.tags[CREDENTIAL_TAGS.stage];
  return {
    version: properties.version,
    stage: isStage(stage) ? stage : null,
    slot: nonEmpty(properties.tags[CREDENTIAL_TAGS.slot]),
    issuerKeyId: nonEmpty(properties.tags[CREDENTIAL_TAGS.issuerKeyId]),
    rotationId: nonEmpty(properties.tags[CREDENTIAL_TAGS.rotationId]),
    enabled: properties.enabled,
    createdAtInMs: properties.createdAtInMs,
    updatedAtInMs: properties.updatedAtInMs,
    expiresAtInMs: properties.expiresAtInMs,
    notBeforeInMs: properties.notBeforeInMs,
    tags: { ...properties.tags },
  };
}

export interface VersionTagsInput {
  readonly stage: RotationStage;
  readonly slot: string | null;
  readonly issuerKeyId: string;
  readonly rotationId: string;
}

/** The full tag set of a new version: the credential's description plus this version's place. */
export function tagsForVersion(credential: ManagedCredential, input: VersionTagsInput): Record<string, string> {
  const tags: Record<string, string> = {
    [CREDENTIAL_TAGS.managed]: "true",
    [CREDENTIAL_TAGS.issuer]: credential.issuer,
    [CREDENTIAL_TAGS.project]: credential.project,
    [CREDENTIAL_TAGS.environment]: credential.environment,
    [CREDENTIAL_TAGS.target]: credential.target,
    [CREDENTIAL_TAGS.rotationPeriodInDays]: String(credential.rotationPeriodInDays),
    [CREDENTIAL_TAGS.overlapInSeconds]: String(Math.round(credential.overlapInMs / 1000)),
    [CREDENTIAL_TAGS.stage]: input.stage,
    [CREDENTIAL_TAGS.issuerKeyId]: input.issuerKeyId,
    [CREDENTIAL_TAGS.rotationId]: input.rotationId,
  };
  if (credential.deployment !== null) tags[CREDENTIAL_TAGS.deployment] = credential.deployment;
  if (input.slot !== null) tags[CREDENTIAL_TAGS.slot] = input.slot;
  return tags;
}

/** The same tags with another stage. */
export function withStage(tags: Readonly<Record<string, string>>, stage: RotationStage): Record<string, string> {
  return { ...tags, [CREDENTIAL_TAGS.stage]: stage };
}

/** Newest first: by creation, then by last update (Key Vault keeps whole seconds). */
export function newestFirst(a: CredentialVersion, b: CredentialVersion): number {
  return b.createdAtInMs - a.createdAtInMs || b.updatedAtInMs - a.updatedAtInMs;
}

/** The version tagged current that is enabled (the newest when a promotion is half done). */
export function currentVersionOf(versions: readonly CredentialVersion[]): CredentialVersion | null {
  return [...versions].filter((v) => v.stage === "current" && v.enabled).sort(newestFirst)[0] ?? null;
}

/** The credential's description: from the current version's tags, else the newest describing version. */
export function credentialOf(id: string, versions: readonly CredentialVersion[]): ManagedCredential | null {
  const current = currentVersionOf(versions);
  if (current !== null) {
    const described = credentialFromTags(id, current.tags);
    if (described !== null) return described;
  }
  for (const version of [...versions].sort(newestFirst)) {
    const described = credentialFromTags(id, version.tags);
    if (described !== null) return described;
  }
  return null;
}

/** A short, non-secret display handle for a version: its issuer key id (slot, service account, key id). */
export function displayPrefixOf(version: CredentialVersion | null): string {
  if (version === null) return "-";
  const handle = version.issuerKeyId ?? version.slot ?? version.version;
  return handle.length > 16 ? `${handle.slice(0, 16)}…` : handle;
}
