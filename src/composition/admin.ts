import { randomUUID } from "node:crypto";
import { type CredentialRotation } from "../core/admin/CredentialRotation.js";
import { AdminService } from "../core/admin/AdminService.js";
import { credentialRotationOf } from "../core/admin/credentialRotationOf.js";
import { AuditEventFactory } from "../core/audit/AuditEventFactory.js";
import { getAppServices } from "./appServices.js";
import { getRotationServices } from "./rotation.js";

/** Upstream credentials are rotated by the rotation services, built on first use only. */
const lazyCredentialRotation: CredentialRotation = {
  async describe(credentialId, options) {
    const rotation = await getRotationServices();
    if (rotation.rotator === null || rotation.secrets === null) return null;
    return credentialRotationOf(rotation.rotator, rotation.secrets).describe(credentialId, options);
  },
  async rotate(credentialId, options) {
    const rotation = await getRotationServices();
    if (rotation.rotator === null || rotation.secrets === null) throw new Error("credential rotation needs a Key Vault (AZURE_KEYVAULT_URL)");
    return credentialRotationOf(rotation.rotator, rotation.secrets).rotate(credentialId, options);
  },
};

async function createAdminService(): Promise<AdminService> {
  const app = await getAppServices();
  const { policy, clock } = app;
  return new AdminService({
    authenticator: app.authenticator,
    apiKeys: app.apiKeys,
    // The store directly, for one thing ApiKeyService does not offer: a revocation that takes effect later.
    scheduleKeyRevocation: (keyId, atInMs) => app.apiKeyStore.revoke(keyId, atInMs),
    credentials: lazyCredentialRotation,
    policy: policy.policy,
    audit: app.audit.publisherFor("fail_closed"),
    events: new AuditEventFactory({ clock, newEventId: randomUUID, policyVersion: policy.version }),
    clock,
    logger: app.logger,
  });
}

let service: Promise<AdminService> | undefined;

/** The admin use cases, built once per process on first use. */
export function getAdminService(): Promise<AdminService> {
  service ??= createAdminService().catch((error: unknown) => {
    service = undefined;
    throw error;
  });
  return service;
}

