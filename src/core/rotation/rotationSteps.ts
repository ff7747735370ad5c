import { type CredentialVersion, DAY_IN_MS, tagsForVersion, withStage } from "./managedCredential.js";
import { IDLE_ROTATION_STATE, type StoredRotationState } from "./RotationStateStore.js";
import { type RotationRun, requireText } from "./RotationRun.js";

/*
 * The steps of a staged rotation. Each first looks in Key Vault for its own earlier effect (by rotation id
 * and stage tags), so a step repeated after a crash does not repeat it, then advances the state row.
 */

/** begun -> stored: mint a credential at the issuer and store it as the pending version. */
export async function mintAndStore(run: RotationRun, row: StoredRotationState, versions: readonly CredentialVersion[]): Promise<StoredRotationState> {
  const { credential, deps, options } = run;
  const rotationId = requireText(row.state.rotationId, "rotationId");
  // A crash after storing but before the state write: adopt what was stored instead of minting again.
  let pending = versions.find((v) => v.rotationId === rotationId && v.stage === "pending" && v.enabled) ?? null;
  if (pending === null) {
    const slotsInUse = versions
      .filter((v) => v.enabled && (v.stage === "current" || v.stage === "previous") && v.slot !== null)
      .map((v) => v.slot ?? "");
    const expiresAtInMs = deps.clock.nowInMs() + 2 * credential.rotationPeriodInDays * DAY_IN_MS;
    const minted = await run.issuer.mint(credential, { rotationId, slotsInUse, expiresAtInMs, abortSignal: options.abortSignal });
    await run.hook("minted", row);
    const stored = await deps.secrets.setSecret(credential.id, minted.value, {
      tags: tagsForVersion(credential, { stage: "pending", slot: minted.slot, issuerKeyId: minted.issuerKeyId, rotationId }),
      expiresAtInMs,
      contentType: "text/plain",
      abortSignal: options.abortSignal,
    });
    pending = {
      version: stored.version,
      stage: "pending",
      slot: minted.slot,
      issuerKeyId: minted.issuerKeyId,
      rotationId,
      enabled: true,
      createdAtInMs: stored.createdAtInMs,
      updatedAtInMs: stored.updatedAtInMs,
      expiresAtInMs: stored.expiresAtInMs,
      notBeforeInMs: stored.notBeforeInMs,
      tags: stored.tags,
    };
    await run.hook("stored", row);
  }
  await run.record("key_created", rotationId, "success", { version: pending.version, stage: "pending", slot: pending.slot, issuerKeyId: pending.issuerKeyId });
  return run.advance(row, { ...row.state, step: "stored", pendingVersion: pending.version });
}

/** stored -> verified, or -> rolling_back when the issuer does not accept the pending credential. */
export async function verifyPending(run: RotationRun, row: StoredRotationState): Promise<StoredRotationState> {
  const { credential, options } = run;
  const pendingVersion = requireText(row.state.pendingVersion, "pendingVersion");
  const pending = await run.deps.secrets.getSecret(credential.id, { version: pendingVersion, abortSignal: options.abortSignal });
  const accepted = pending !== null && (await run.issuer.verify(credential, pending.value, { abortSignal: options.abortSignal }));
  if (!accepted) {
    return run.advance(row, { ...row.state, step: "rolling_back", lastFailureReason: pending === null ? "pending_version_missing" : "verification_failed" });
  }
  await run.hook("verified", row);
  return run.advance(row, { ...row.state, step: "verified" });
}

/** rolling_back -> idle: revoke and disable the pending version; the current credential is kept. */
export async function rollBack(run: RotationRun, row: StoredRotationState, versions: readonly CredentialVersion[]): Promise<StoredRotationState> {
  const { credential, options } = run;
  const rotationId = requireText(row.state.rotationId, "rotationId");
  const reason = row.state.lastFailureReason ?? "verification_failed";
  const pending = versions.find((v) => v.version === row.state.pendingVersion) ?? null;
  if (pending !== null) {
    if (pending.issuerKeyId !== null) {
      await run.issuer.revoke(credential, { issuerKeyId: pending.issuerKeyId, slot: pending.slot }, { abortSignal: options.abortSignal });
    }
    if (pending.enabled || pending.stage !== "failed") {
      await run.deps.secrets.updateSecretProperties(credential.id, pending.version, { enabled: false, tags: withStage(pending.tags, "failed") }, options);
    }
  }
  await run.record("rotation_failed", rotationId, "error", { version: row.state.pendingVersion, stage: "failed", keptVersion: row.state.fromVersion }, reason);
  run.deps.logger.error("credential rotation failed verification; rolled back, the current credential is kept", {
    credentialId: credential.id,
    rotationId,
    reason,
    alert: true,
  });
  await run.hook("rolled_back", row);
  return run.advance(
    row,
    { ...IDLE_ROTATION_STATE, lastRotationId: rotationId, lastOutcome: "rolled_back", lastFailureReason: reason, lastCompletedAtInMs: row.state.lastCompletedAtInMs },
    "release",
  );
}

/** verified -> promoted: the pending version becomes current, the old one previous; the overlap starts. */
export async function promote(run: RotationRun, row: StoredRotationState, versions: readonly CredentialVersion[]): Promise<StoredRotationState> {
  const { credential, options } = run;
  const rotationId = requireText(row.state.rotationId, "rotationId");
  const pending = versions.find((v) => v.version === row.state.pendingVersion);
  if (pending === undefined) throw new Error(`pending version of ${credential.id} is missing from Key Vault`);
  // The new version is tagged current first, then the old one previous: a reader always finds a current.
  let promotedAtInMs = pending.updatedAtInMs;
  if (pending.stage !== "current") {
    const promoted = await run.deps.secrets.updateSecretProperties(credential.id, pending.version, { tags: withStage(pending.tags, "current") }, options);
    promotedAtInMs = promoted.updatedAtInMs; // Key Vault's time: the start of the overlap
    await run.hook("promoted", row);
  }
  const from = versions.find((v) => v.version === row.state.fromVersion);
  if (from !== undefined && from.stage === "current") {
    await run.deps.secrets.updateSecretProperties(credential.id, from.version, { tags: withStage(from.tags, "previous") }, options);
    await run.hook("demoted", row);
  }
  await run.record("key_rotated", rotationId, "success", {
    version: pending.version,
    previousVersion: row.state.fromVersion,
    slot: pending.slot,
    issuerKeyId: pending.issuerKeyId,
    overlapInMs: row.state.overlapInMs,
  });
  return run.advance(row, { ...row.state, step: "promoted", promotedAtInMs });
}

/** promoted -> idle, once the overlap has drained: revoke the previous credential and disable its version. */
export async function retirePrevious(run: RotationRun, row: StoredRotationState, versions: readonly CredentialVersion[]): Promise<StoredRotationState> {
  const { credential, options } = run;
  const rotationId = requireText(row.state.rotationId, "rotationId");
  const from = versions.find((v) => v.version === row.state.fromVersion) ?? null;
  if (from !== null) {
    if (from.stage !== "retired" && from.issuerKeyId !== null) {
      await run.issuer.revoke(credential, { issuerKeyId: from.issuerKeyId, slot: from.slot }, { abortSignal: options.abortSignal });
      await run.hook("revoked", row);
    }
    await run.record("key_revoked", rotationId, "success", { version: from.version, stage: "retired", slot: from.slot, issuerKeyId: from.issuerKeyId });
    if (from.enabled || from.stage !== "retired") {
      // Disabled, never purged: the version stays for the record.
      await run.deps.secrets.updateSecretProperties(credential.id, from.version, { enabled: false, tags: withStage(from.tags, "retired") }, options);
      await run.hook("retired", row);
    }
  }
  run.deps.logger.info("credential rotation completed", { credentialId: credential.id, rotationId });
  return run.advance(row, { ...IDLE_ROTATION_STATE, lastRotationId: rotationId, lastOutcome: "completed", lastFailureReason: null, lastCompletedAtInMs: row.serverTimestampInMs });
}
