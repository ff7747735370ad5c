import type { TokenCredential } from "@azure/identity";
import {
  type CredentialIssuer,
  CredentialIssuerError,
  type IssuedKeyRef,
  type IssuerCallOptions,
  type MintContext,
  type MintedCredential,
} from "../../core/rotation/CredentialIssuer.js";
import type { ManagedCredential } from "../../core/rotation/managedCredential.js";
import { errorCodeOf, requestJson, sleep } from "./requestJson.js";

export const AZURE_OPENAI_SLOTS = ["Key1", "Key2"] as const;
export type AzureOpenAiSlot = (typeof AZURE_OPENAI_SLOTS)[number];
const ARM_SCOPE = "https://management.azure.com/.default";
const ACCOUNT_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.CognitiveServices\/accounts\/[^/]+$/i;

export interface VerifyAzureOpenAiKeyInput {
  /** The account's data-plane endpoint, with a trailing slash (`https://name.openai.azure.com/`). */
  readonly endpoint: string;
  readonly deployment: string;
  readonly key: string;
  readonly abortSignal?: AbortSignal;
}

export interface AzureOpenAiKeyIssuerOptions {
  /** The rotation identity: it needs `Cognitive Services Contributor` (listKeys/regenerateKey) on the accounts. */
  readonly credential: TokenCredential;
  /** https://management.azure.com unless told (the mock ARM in tests). */
  readonly armBaseUrl?: string;
  readonly apiVersion?: string;
  /** How a new key is checked; a one-token chat call against the account by default. */
  readonly verify?: (input: VerifyAzureOpenAiKeyInput) => Promise<boolean>;
  /** A regenerated key can take a moment to be accepted everywhere: refusals are retried this often (default 3 attempts). */
  readonly verifyAttempts?: number;
  readonly verifyRetryDelayInMs?: number;
  readonly timeoutInMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * Azure OpenAI account keys through ARM. An account has two keys; the one in use is never
 * regenerated: a mint regenerates the other slot (the regenerated key stops working at once), and
 * revoking a slot regenerates it again so its old value dies. Target: the account's ARM resource id.
 */
export class AzureOpenAiKeyIssuer implements CredentialIssuer {
  readonly kind = "azure-openai" as const;
  private readonly armBaseUrl: string;
  private readonly apiVersion: string;
  private readonly timeoutInMs: number;
  private readonly fetch: typeof fetch;
  private readonly endpoints = new Map<string, string>();

  constructor(private readonly options: AzureOpenAiKeyIssuerOptions) {
    this.armBaseUrl = (options.armBaseUrl ?? "https://management.azure.com").replace(/\/+$/, "");
    this.apiVersion = options.apiVersion ?? "2023-05-01";
    this.timeoutInMs = options.timeoutInMs ?? 30_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async mint(credential: ManagedCredential, context: MintContext): Promise<MintedCredential> {
    const slot = AZURE_OPENAI_SLOTS.find((candidate) => !context.slotsInUse.includes(candidate));
    if (slot === undefined) throw new CredentialIssuerError(`Both keys of ${credential.id}'s account are in use; finish the running rotation first.`);
    const keys = await this.regenerate(credential, slot, context.abortSignal);
    return { value: slot === "Key1" ? keys.key1 : keys.key2, issuerKeyId: slot, slot };
  }

  async verify(credential: ManagedCredential, value: string, options: IssuerCallOptions = {}): Promise<boolean> {
    if (credential.deployment === null) throw new CredentialIssuerError(`${credential.id} has no deployment tag to verify keys against.`);
    const endpoint = await this.endpointOf(credential, options.abortSignal);
    const check = this.options.verify ?? ((input: VerifyAzureOpenAiKeyInput) => this.chatVerify(input));
    const attempts = Math.max(1, this.options.verifyAttempts ?? 3);
    for (let attempt = 1; ; attempt += 1) {
      if (await check({ endpoint, deployment: credential.deployment, key: value, ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }) })) return true;
      if (attempt >= attempts) return false;
      await sleep(this.options.verifyRetryDelayInMs ?? 5_000, options.abortSignal);
    }
  }

  async revoke(credential: ManagedCredential, key: IssuedKeyRef, options: IssuerCallOptions = {}): Promise<void> {
    const slot = key.slot ?? key.issuerKeyId;
    if (slot !== "Key1" && slot !== "Key2") throw new CredentialIssuerError(`"${slot}" is not an Azure OpenAI key slot (Key1 or Key2).`);
    await this.regenerate(credential, slot, options.abortSignal);
  }

  /** Both keys of the account (the operator's `register` reads the slot in use through this). */
  async listKeys(credential: ManagedCredential, abortSignal?: AbortSignal): Promise<{ key1: string; key2: string }> {
    return this.keysFrom(await this.arm(credential, "/listKeys", "POST", undefined, abortSignal), "listKeys");
  }

  private async regenerate(credential: ManagedCredential, slot: AzureOpenAiSlot, abortSignal: AbortSignal | undefined): Promise<{ key1: string; key2: string }> {
    return this.keysFrom(await this.arm(credential, "/regenerateKey", "POST", { keyName: slot }, abortSignal), "regenerateKey");
  }

  private keysFrom(response: { status: number; body: unknown }, operation: string): { key1: string; key2: string } {
    const body = response.body as { key1?: unknown; key2?: unknown } | null;
    if (typeof body?.key1 !== "string" || typeof body.key2 !== "string") throw new CredentialIssuerError(`ARM ${operation} returned no keys.`, response.status);
    return { key1: body.key1, key2: body.key2 };
  }

  private async endpointOf(credential: ManagedCredential, abortSignal: AbortSignal | undefined): Promise<string> {
    const cached = this.endpoints.get(credential.target);
    if (cached !== undefined) return cached;
    const response = await this.arm(credential, "", "GET", undefined, abortSignal);
    const endpoint = (response.body as { properties?: { endpoint?: unknown } } | null)?.properties?.endpoint;
    if (typeof endpoint !== "string" || !/^https?:\/\//.test(endpoint)) throw new CredentialIssuerError(`ARM returned no endpoint for ${credential.id}'s account.`);
    const normalized = endpoint.endsWith("/") ? endpoint : `${endpoint}/`;
    this.endpoints.set(credential.target, normalized);
    return normalized;
  }

  private async arm(credential: ManagedCredential, suffix: string, method: "GET" | "POST", body: unknown, abortSignal: AbortSignal | undefined) {
    if (!ACCOUNT_ID.test(credential.target)) {
      throw new CredentialIssuerError(`${credential.id}'s target must be the account's ARM id (/subscriptions/…/providers/Microsoft.CognitiveServices/accounts/NAME).`);
    }
    const token = await this.options.credential.getToken(ARM_SCOPE, abortSignal === undefined ? {} : { abortSignal });
    if (token === null) throw new CredentialIssuerError("The rotation identity got no token for Azure Resource Manager.");
    const operation = `ARM ${suffix === "" ? "get account" : suffix.slice(1)} for ${credential.id}`;
    const response = await requestJson(`${this.armBaseUrl}${credential.target}${suffix}?api-version=${encodeURIComponent(this.apiVersion)}`, operation, {
      method,
      headers: { authorization: `Bearer ${token.token}` },
      ...(body === undefined ? {} : { body }),
      timeoutInMs: this.timeoutInMs,
      ...(abortSignal === undefined ? {} : { abortSignal }),
      fetch: this.fetch,
    });
    if (response.status < 200 || response.status >= 300) {
      const hint = response.status === 401 || response.status === 403 ? " Give the rotation identity Cognitive Services Contributor on the account." : "";
      throw new CredentialIssuerError(`${operation} failed (status ${response.status}, ${errorCodeOf(response.body)}).${hint}`, response.status);
    }
    return response;
  }

  /** A one-token chat call with the key: 200 accepts, 401/403 refuse, anything else is not a verdict. */
  private async chatVerify(input: VerifyAzureOpenAiKeyInput): Promise<boolean> {
    const url = `${input.endpoint}openai/deployments/${encodeURIComponent(input.deployment)}/chat/completions?api-version=2024-10-21`;
    const response = await requestJson(url, "Azure OpenAI verification call", {
      method: "POST",
      headers: { "api-key": input.key },
      body: { messages: [{ role: "user", content: "ping" }], max_tokens: 1 },
      timeoutInMs: this.timeoutInMs,
      ...(input.abortSignal === undefined ? {} : { abortSignal: input.abortSignal }),
      fetch: this.fetch,
    });
    if (response.status >= 200 && response.status < 300) return true;
    if (response.status === 401 || response.status === 403) return false;
    throw new CredentialIssuerError(`Azure OpenAI verification call failed (status ${response.status}, ${errorCodeOf(response.body)}).`, response.status);
  }
}
