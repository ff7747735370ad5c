import {
  type CredentialIssuer,
  CredentialIssuerError,
  type IssuedKeyRef,
  type IssuerCallOptions,
  type MintContext,
  type MintedCredential,
} from "../../core/rotation/CredentialIssuer.js";
import type { ManagedCredential } from "../../core/rotation/managedCredential.js";
import type { OpenAiAdminClient } from "./OpenAiAdminClient.js";
import { errorCodeOf, requestJson } from "./requestJson.js";

export interface OpenAiServiceAccountKeyIssuerOptions {
  readonly admin: OpenAiAdminClient;
  readonly timeoutInMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * OpenAI platform keys: each version is a project service account with its key (the Admin API hands
 * the key out once, when the account is created). Target: `<projectId>/<name>`; accounts are named
 * `<name>-<rotation id prefix>`, so a mint repeated for the same rotation removes the account a
 * crashed attempt left behind. Revoking deletes the service account, and with it its key.
 */
export class OpenAiServiceAccountKeyIssuer implements CredentialIssuer {
  readonly kind = "openai" as const;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: OpenAiServiceAccountKeyIssuerOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async mint(credential: ManagedCredential, context: MintContext): Promise<MintedCredential> {
    const { projectId, name } = parseTarget(credential);
    const accountName = `${name}-${context.rotationId.replace(/[^A-Za-z0-9]/g, "").slice(0, 12)}`;
    const signal = context.abortSignal === undefined ? {} : { abortSignal: context.abortSignal };
    for await (const account of this.options.admin.listServiceAccounts(projectId, signal)) {
      if (account.name === accountName) await this.options.admin.deleteServiceAccount(projectId, account.id, signal);
    }
    const created = await this.options.admin.createServiceAccount(projectId, accountName, signal);
    if (typeof created.api_key?.value !== "string" || created.api_key.value === "") {
      throw new CredentialIssuerError(`The Admin API created service account ${created.id} without a key.`);
    }
    return { value: created.api_key.value, issuerKeyId: created.id, slot: null };
  }

  /** `GET /v1/models` with the key: 200 accepts, 401/403 refuse. */
  async verify(_credential: ManagedCredential, value: string, options: IssuerCallOptions = {}): Promise<boolean> {
    const response = await requestJson(`${this.options.admin.baseUrl}/models`, "OpenAI verification call", {
      method: "GET",
      headers: { authorization: `Bearer ${value}` },
      timeoutInMs: this.options.timeoutInMs ?? 30_000,
      ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
      fetch: this.fetch,
    });
    if (response.status >= 200 && response.status < 300) return true;
    if (response.status === 401 || response.status === 403) return false;
    throw new CredentialIssuerError(`OpenAI verification call failed (status ${response.status}, ${errorCodeOf(response.body)}).`, response.status);
  }

  async revoke(credential: ManagedCredential, key: IssuedKeyRef, options: IssuerCallOptions = {}): Promise<void> {
    const { projectId } = parseTarget(credential);
    await this.options.admin.deleteServiceAccount(projectId, key.issuerKeyId, options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal });
  }
}

function parseTarget(credential: ManagedCredential): { projectId: string; name: string } {
  const match = /^(proj_[A-Za-z0-9_-]+)\/([A-Za-z0-9_-]{1,40})$/.exec(credential.target);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new CredentialIssuerError(`${credential.id}'s target must be "<projectId>/<service account name>", such as proj_abc/gateway.`);
  }
  return { projectId: match[1], name: match[2] };
}
