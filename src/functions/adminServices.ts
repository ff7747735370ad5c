import { type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { randomUUID } from "node:crypto";
import { JoseEntraTokenVerifier } from "../adapters/entra/JoseEntraTokenVerifier.js";
import { readJsonBody } from "../adapters/http/readJsonBody.js";
import { createCredential } from "../adapters/identity/createCredential.js";
import { TableApiKeyStore } from "../adapters/tables/TableApiKeyStore.js";
import { getAppServices } from "../composition/appServices.js";
import { getRotationServices } from "../composition/rotation.js";
import { TABLES, createStorageClients } from "../composition/storage.js";
import { type AdminCaller, AdminService } from "../core/admin/AdminService.js";
import { type CredentialRotation } from "../core/admin/CredentialRotation.js";
import { credentialRotationOf } from "../core/admin/credentialRotationOf.js";
import { Authenticator } from "../core/auth/Authenticator.js";
import { AuditEventFactory } from "../core/gateway/auditEvents.js";

/**
 * Wiring and HTTP helpers shared by the admin function files (this file registers no function).
 *
 * The routes live under `manage/`, not `admin/`: the Functions host reserves every route that starts
 * with "admin" for its own management API (whatever the route prefix) and refuses to register such
 * functions at start-up ("The specified route conflicts with one or more built in routes").
 */
export const ADMIN_ROUTE_PREFIX = "manage";

/** Admin bodies are a few fields; anything larger is refused before it is parsed. */
const MAX_ADMIN_BODY_BYTES = 16_384;

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
  const { settings, policy, clock } = app;
  const tokens = policy.policy.entra ? new JoseEntraTokenVerifier(policy.policy.entra, { clock }) : null;
  // The store directly, for one thing ApiKeyService does not offer: a revocation that takes effect later.
  const storage = createStorageClients(settings, createCredential({ managedIdentityClientId: settings.AZURE_CLIENT_ID, local: settings.PALISADE_LOCAL_STACK }));
  const keyStore = new TableApiKeyStore(storage.table(TABLES.apiKeys));
  return new AdminService({
    authenticator: new Authenticator({ apiKeys: app.apiKeys, tokens, policy: policy.policy }),
    apiKeys: app.apiKeys,
    scheduleKeyRevocation: (keyId, atInMs) => keyStore.revoke(keyId, atInMs),
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

export function adminCallerOf(request: HttpRequest, requestId: string): AdminCaller {
  return { authorization: request.headers.get("authorization"), apiKey: request.headers.get("api-key"), requestId };
}

/** Reads an optional JSON body: no body at all is `{}`; anything sent must be JSON within the limit. */
export async function readOptionalAdminBody(request: HttpRequest): Promise<unknown> {
  const declared = request.headers.get("content-length");
  const hasBody = request.headers.get("content-type") !== null || (declared !== null && declared !== "0") || request.headers.get("transfer-encoding") !== null;
  return hasBody ? readJsonBody(request, MAX_ADMIN_BODY_BYTES) : {};
}

export function readAdminBody(request: HttpRequest): Promise<unknown> {
  return readJsonBody(request, MAX_ADMIN_BODY_BYTES);
}

/** Admin answers are JSON and never cached: some carry a key shown once. */
export function adminJson(status: number, body: unknown, requestId: string): HttpResponseInit {
  return { status, headers: { "content-type": "application/json", "cache-control": "no-store", "x-request-id": requestId }, jsonBody: body };
}
