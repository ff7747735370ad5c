import { CredentialIssuerError } from "../../core/rotation/CredentialIssuer.js";
import { errorCodeOf, requestJson } from "./requestJson.js";

/** Shapes as the OpenAI Admin API returns them (the fields Palisade reads). */
export interface OpenAiProject {
  readonly id: string;
  readonly object: "organization.project";
  readonly name: string;
  readonly created_at: number;
  readonly archived_at: number | null;
  readonly status: string;
}
export interface OpenAiServiceAccount {
  readonly id: string;
  readonly object: "organization.project.service_account";
  readonly name: string;
  readonly role: string;
  readonly created_at: number;
}
export interface OpenAiCreatedServiceAccount extends OpenAiServiceAccount {
  /** The key's value is here once, at creation; it goes straight to Key Vault. */
  readonly api_key: { readonly id: string; readonly value: string; readonly name: string; readonly created_at: number };
}
export interface OpenAiProjectApiKey {
  readonly id: string;
  readonly object: "organization.project.api_key";
  readonly name: string;
  readonly redacted_value: string;
  readonly created_at: number;
}
export interface OpenAiUser {
  readonly id: string;
  readonly object: "organization.user";
  readonly email: string;
  readonly name: string;
  readonly role: string;
  readonly added_at: number;
}
export interface OpenAiInvite {
  readonly id: string;
  readonly object: "organization.invite";
  readonly email: string;
  readonly role: string;
  readonly status: string;
  readonly invited_at: number;
  readonly expires_at: number;
}
export interface OpenAiRole {
  readonly id: string;
  readonly object: "role";
  readonly name: string;
  readonly description: string | null;
  readonly permissions: readonly string[];
  readonly resource_type: string;
  readonly predefined_role: boolean;
}

export interface OpenAiAdminClientOptions {
  /** https://api.openai.com/v1 unless told. */
  readonly baseUrl?: string;
  /** The admin key, fetched when needed (from Key Vault); never logged. */
  readonly adminKey: () => Promise<string>;
  readonly timeoutInMs?: number;
  readonly fetch?: typeof fetch;
}

export interface AdminCallOptions {
  readonly abortSignal?: AbortSignal;
}

/** A small OpenAI Admin API client over plain fetch: projects, service accounts, API keys, users, invites, roles. */
export class OpenAiAdminClient {
  readonly baseUrl: string;
  private readonly timeoutInMs: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: OpenAiAdminClientOptions) {
    this.baseUrl = (options.baseUrl ?? "https://api.openai.com/v1").replace(/\/+$/, "");
    this.timeoutInMs = options.timeoutInMs ?? 30_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  listProjects(options: AdminCallOptions = {}): AsyncIterable<OpenAiProject> {
    return this.list<OpenAiProject>("/organization/projects", options);
  }
  createProject(name: string, options: AdminCallOptions = {}): Promise<OpenAiProject> {
    return this.call<OpenAiProject>("POST", "/organization/projects", { name }, options);
  }
  /** Projects are archived, not deleted, by the real API. */
  archiveProject(projectId: string, options: AdminCallOptions = {}): Promise<OpenAiProject> {
    return this.call<OpenAiProject>("POST", `/organization/projects/${seg(projectId)}/archive`, {}, options);
  }

  listServiceAccounts(projectId: string, options: AdminCallOptions = {}): AsyncIterable<OpenAiServiceAccount> {
    return this.list<OpenAiServiceAccount>(`/organization/projects/${seg(projectId)}/service_accounts`, options);
  }
  createServiceAccount(projectId: string, name: string, options: AdminCallOptions = {}): Promise<OpenAiCreatedServiceAccount> {
    return this.call<OpenAiCreatedServiceAccount>("POST", `/organization/projects/${seg(projectId)}/service_accounts`, { name }, options);
  }
  /** True when deleted, false when it was already gone. */
  deleteServiceAccount(projectId: string, serviceAccountId: string, options: AdminCallOptions = {}): Promise<boolean> {
    return this.delete(`/organization/projects/${seg(projectId)}/service_accounts/${seg(serviceAccountId)}`, options);
  }
  listProjectApiKeys(projectId: string, options: AdminCallOptions = {}): AsyncIterable<OpenAiProjectApiKey> {
    return this.list<OpenAiProjectApiKey>(`/organization/projects/${seg(projectId)}/api_keys`, options);
  }
  deleteProjectApiKey(projectId: string, keyId: string, options: AdminCallOptions = {}): Promise<boolean> {
    return this.delete(`/organization/projects/${seg(projectId)}/api_keys/${seg(keyId)}`, options);
  }

  listUsers(options: AdminCallOptions = {}): AsyncIterable<OpenAiUser> {
    return this.list<OpenAiUser>("/organization/users", options);
  }
  deleteUser(userId: string, options: AdminCallOptions = {}): Promise<boolean> {
    return this.delete(`/organization/users/${seg(userId)}`, options);
  }

  listInvites(options: AdminCallOptions = {}): AsyncIterable<OpenAiInvite> {
    return this.list<OpenAiInvite>("/organization/invites", options);
  }
  createInvite(input: { readonly email: string; readonly role: "reader" | "owner" }, options: AdminCallOptions = {}): Promise<OpenAiInvite> {
    return this.call<OpenAiInvite>("POST", "/organization/invites", input, options);
  }
  deleteInvite(inviteId: string, options: AdminCallOptions = {}): Promise<boolean> {
    return this.delete(`/organization/invites/${seg(inviteId)}`, options);
  }

  listRoles(options: AdminCallOptions = {}): AsyncIterable<OpenAiRole> {
    return this.list<OpenAiRole>("/organization/roles", options);
  }
  createRole(input: { readonly role_name: string; readonly permissions: readonly string[]; readonly description?: string }, options: AdminCallOptions = {}): Promise<OpenAiRole> {
    return this.call<OpenAiRole>("POST", "/organization/roles", input, options);
  }
  deleteRole(roleId: string, options: AdminCallOptions = {}): Promise<boolean> {
    return this.delete(`/organization/roles/${seg(roleId)}`, options);
  }

  /** Follows `after` cursors (`last_id`, or `next` for roles) while `has_more`. */
  private async *list<T>(path: string, options: AdminCallOptions): AsyncIterable<T> {
    let after: string | null = null;
    for (let pageCount = 0; pageCount < 1_000; pageCount += 1) {
      const query: string = `?limit=100${after === null ? "" : `&after=${encodeURIComponent(after)}`}`;
      const body = await this.call<{ data?: unknown; has_more?: unknown; last_id?: unknown; next?: unknown }>("GET", `${path}${query}`, undefined, options);
      const data = Array.isArray(body.data) ? (body.data as T[]) : [];
      for (const item of data) yield item;
      const cursor = typeof body.next === "string" ? body.next : typeof body.last_id === "string" ? body.last_id : null;
      if (body.has_more !== true || cursor === null || data.length === 0) return;
      after = cursor;
    }
  }

  private async delete(path: string, options: AdminCallOptions): Promise<boolean> {
    const response = await this.send("DELETE", path, undefined, options);
    if (response.status === 404) return false;
    this.check(response, "DELETE", path);
    return true;
  }

  private async call<T>(method: "GET" | "POST", path: string, body: unknown, options: AdminCallOptions): Promise<T> {
    const response = await this.send(method, path, body, options);
    this.check(response, method, path);
    if (typeof response.body !== "object" || response.body === null) throw new CredentialIssuerError(`OpenAI Admin API ${method} ${stripQuery(path)} returned no JSON object.`, response.status);
    return response.body as T;
  }

  private async send(method: "GET" | "POST" | "DELETE", path: string, body: unknown, options: AdminCallOptions) {
    const adminKey = await this.options.adminKey();
    return requestJson(`${this.baseUrl}${path}`, `OpenAI Admin API ${method} ${stripQuery(path)}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}` },
      ...(body === undefined ? {} : { body }),
      timeoutInMs: this.timeoutInMs,
      ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
      fetch: this.fetch,
    });
  }

  private check(response: { status: number; body: unknown }, method: string, path: string): void {
    if (response.status >= 200 && response.status < 300) return;
    const hint = response.status === 401 || response.status === 403 ? " Check the admin key secret (an organization admin key)." : "";
    throw new CredentialIssuerError(`OpenAI Admin API ${method} ${stripQuery(path)} failed (status ${response.status}, ${errorCodeOf(response.body)}).${hint}`, response.status);
  }
}

const seg = (value: string): string => encodeURIComponent(value);
const stripQuery = (path: string): string => path.split("?")[0] ?? path;
