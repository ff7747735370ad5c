import { randomBytes } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { listenOn } from "../listenOn.js";

/**
 * A small OpenAI Admin API over real HTTP, shaped as the real one: projects (list, create, retrieve,
 * archive), project service accounts (list, create -> with an api_key, retrieve, delete), project API
 * keys (list, delete), organization users (list, delete), invites (list, create, delete) and roles
 * (list, create, delete). Admin routes want `Authorization: Bearer <adminKey>`. `GET /v1/models`
 * accepts a live service-account key, which is how a new key is verified.
 */
export interface MockOpenAiAdminOptions {
  readonly port?: number;
  readonly host?: string;
  /** The admin key the mock accepts (a random one unless told). */
  readonly adminKey?: string;
}

export interface RunningMockOpenAiAdmin {
  /** Base URL including /v1, as the OpenAI SDK's baseURL. */
  readonly url: string;
  readonly adminKey: string;
  /** Adds a project directly (tests). */
  addProject(name: string): string;
  addUser(email: string, role?: "owner" | "reader"): string;
  /** Service accounts of a project, by name (tests). */
  serviceAccountNames(projectId: string): string[];
  stop(): Promise<void>;
}

type Json = Record<string, unknown>;

interface ServiceAccount {
  id: string;
  name: string;
  created_at: number;
  keyId: string;
  keyValue: string;
}

interface Project {
  id: string;
  name: string;
  created_at: number;
  archived_at: number | null;
  serviceAccounts: Map<string, ServiceAccount>;
}

const now = (): number => Math.floor(Date.now() / 1000);
const id = (prefix: string): string => `${prefix}_${randomBytes(8).toString("hex")}`;

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

const openAiError = (response: ServerResponse, status: number, message: string, code: string | null = null): void =>
  send(response, status, { error: { message, type: "invalid_request_error", code, param: null } });

async function readJson(request: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return {};
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === "object" && parsed !== null ? (parsed as Json) : {};
}

/** The real API's cursor list: `after` an id, `limit` items, `has_more`, `first_id`/`last_id`. */
function page(items: readonly Json[], query: URLSearchParams): Json {
  const limit = Math.min(100, Math.max(1, Number(query.get("limit") ?? "20") || 20));
  const after = query.get("after");
  const start = after === null ? 0 : items.findIndex((item) => item.id === after) + 1;
  const data = items.slice(start, start + limit);
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + limit < items.length };
}

const redacted = (value: string): string => `${value.slice(0, 7)}…${value.slice(-4)}`;

export async function startMockOpenAiAdmin(options: MockOpenAiAdminOptions = {}): Promise<RunningMockOpenAiAdmin> {
  const host = options.host ?? "127.0.0.1";
  const adminKey = options.adminKey ?? `sk-admin-${randomBytes(12).toString("hex")}`;
  const projects = new Map<string, Project>();
  const users = new Map<string, Json>();
  const invites = new Map<string, Json>();
  const roles = new Map<string, Json>([
    ["role_owner", { object: "role", id: "role_owner", name: "owner", description: null, permissions: ["api.organization.write"], resource_type: "api.organization", predefined_role: true }],
    ["role_reader", { object: "role", id: "role_reader", name: "reader", description: null, permissions: ["api.organization.read"], resource_type: "api.organization", predefined_role: true }],
  ]);

  const projectJson = (p: Project): Json => ({ id: p.id, object: "organization.project", name: p.name, created_at: p.created_at, archived_at: p.archived_at, status: p.archived_at === null ? "active" : "archived" });
  const accountJson = (a: ServiceAccount): Json => ({ object: "organization.project.service_account", id: a.id, name: a.name, role: "member", created_at: a.created_at });
  const liveKey = (value: string): boolean => [...projects.values()].some((p) => p.archived_at === null && [...p.serviceAccounts.values()].some((a) => a.keyValue === value));

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://mock");
    const path = url.pathname.replace(/\/+$/, "");
    const method = request.method ?? "GET";
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1] ?? null;

    if (path === "/v1/models" && method === "GET") {
      if (bearer === null || !liveKey(bearer)) return openAiError(response, 401, "Incorrect API key provided.", "invalid_api_key");
      return send(response, 200, { object: "list", data: [{ id: "gpt-4o-mini", object: "model", created: 0, owned_by: "openai" }] });
    }
    if (!path.startsWith("/v1/organization/")) return openAiError(response, 404, `Invalid URL (${method} ${path})`);
    if (bearer !== adminKey) return openAiError(response, 401, "Incorrect API key provided. Admin endpoints need an admin key.", "invalid_api_key");
    const parts = path.slice("/v1/organization/".length).split("/");
    const [collection, first, sub, second] = parts;

    if (collection === "projects") {
      if (first === undefined) {
        if (method === "GET") return send(response, 200, page([...projects.values()].filter((p) => url.searchParams.get("include_archived") === "true" || p.archived_at === null).map(projectJson), url.searchParams));
        if (method === "POST") {
          const body = await readJson(request);
          if (typeof body.name !== "string" || body.name === "") return openAiError(response, 400, "name is required");
          const project: Project = { id: id("proj"), name: body.name, created_at: now(), archived_at: null, serviceAccounts: new Map() };
          projects.set(project.id, project);
          return send(response, 200, projectJson(project));
        }
      }
      const project = projects.get(first ?? "");
      if (project === undefined) return openAiError(response, 404, `No such project: ${first ?? ""}`);
      if (sub === undefined && method === "GET") return send(response, 200, projectJson(project));
      if (sub === "archive" && method === "POST") {
        project.archived_at ??= now();
        return send(response, 200, projectJson(project));
      }
      if (sub === "service_accounts") {
        if (second === undefined && method === "GET") return send(response, 200, page([...project.serviceAccounts.values()].map(accountJson), url.searchParams));
        if (second === undefined && method === "POST") {
          const body = await readJson(request);
          if (typeof body.name !== "string" || body.name === "") return openAiError(response, 400, "name is required");
          const account: ServiceAccount = { id: id("svc_acct"), name: body.name, created_at: now(), keyId: id("key"), keyValue: `sk-svcacct-${randomBytes(24).toString("hex")}` };
          project.serviceAccounts.set(account.id, account);
          return send(response, 200, { ...accountJson(account), api_key: { object: "organization.project.service_account.api_key", value: account.keyValue, name: "Secret Key", created_at: account.created_at, id: account.keyId } });
        }
        const account = project.serviceAccounts.get(second ?? "");
        if (account === undefined) return openAiError(response, 404, `No such service account: ${second ?? ""}`);
        if (method === "GET") return send(response, 200, accountJson(account));
        if (method === "DELETE") {
          project.serviceAccounts.delete(account.id);
          return send(response, 200, { object: "organization.project.service_account.deleted", id: account.id, deleted: true });
        }
      }
      if (sub === "api_keys") {
        const keys = [...project.serviceAccounts.values()].map((a) => ({
          object: "organization.project.api_key",
          redacted_value: redacted(a.keyValue),
          name: "Secret Key",
          created_at: a.created_at,
          last_used_at: null,
          id: a.keyId,
          owner: { type: "service_account", service_account: accountJson(a) },
        }));
        if (second === undefined && method === "GET") return send(response, 200, page(keys, url.searchParams));
        const account = [...project.serviceAccounts.values()].find((a) => a.keyId === second);
        if (account === undefined) return openAiError(response, 404, `No such API key: ${second ?? ""}`);
        if (method === "DELETE") {
          project.serviceAccounts.delete(account.id); // a service account's only key: the key goes, and with it the account
          return send(response, 200, { object: "organization.project.api_key.deleted", id: account.keyId, deleted: true });
        }
      }
      return openAiError(response, 404, `Invalid URL (${method} ${path})`);
    }

    const simple: Record<string, { map: Map<string, Json>; deleted: string }> = {
      users: { map: users, deleted: "organization.user.deleted" },
      invites: { map: invites, deleted: "organization.invite.deleted" },
      roles: { map: roles, deleted: "role.deleted" },
    };
    const target = simple[collection ?? ""];
    if (target === undefined || sub !== undefined) return openAiError(response, 404, `Invalid URL (${method} ${path})`);
    if (first === undefined && method === "GET") {
      const listed = page([...target.map.values()], url.searchParams);
      return send(response, 200, collection === "roles" ? { object: "list", data: listed.data, has_more: listed.has_more, next: listed.has_more ? listed.last_id : null } : listed);
    }
    if (first === undefined && method === "POST") {
      const body = await readJson(request);
      if (collection === "invites") {
        if (typeof body.email !== "string" || (body.role !== "reader" && body.role !== "owner")) return openAiError(response, 400, "email and role (reader|owner) are required");
        const invite = { object: "organization.invite", id: id("invite"), email: body.email, role: body.role, status: "pending", invited_at: now(), expires_at: now() + 7 * 86_400, accepted_at: null };
        invites.set(invite.id, invite);
        return send(response, 200, invite);
      }
      if (collection === "roles") {
        if (typeof body.role_name !== "string" || !Array.isArray(body.permissions)) return openAiError(response, 400, "role_name and permissions are required");
        const role = { object: "role", id: id("role"), name: body.role_name, description: typeof body.description === "string" ? body.description : null, permissions: body.permissions, resource_type: "api.organization", predefined_role: false };
        roles.set(role.id, role);
        return send(response, 200, role);
      }
      return openAiError(response, 405, "Users join through invites.");
    }
    const item = target.map.get(first ?? "");
    if (item === undefined) return openAiError(response, 404, `No such object: ${first ?? ""}`);
    if (method === "GET") return send(response, 200, item);
    if (method === "DELETE") {
      if (collection === "roles" && item.predefined_role === true) return openAiError(response, 400, "Predefined roles cannot be deleted.");
      target.map.delete(first ?? "");
      return send(response, 200, { object: target.deleted, id: first, deleted: true });
    }
    return openAiError(response, 405, "Method not allowed");
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) openAiError(response, 500, "mock failure");
      else response.end();
    });
  });
  const port = await listenOn(server, options.port ?? 0, host);

  return {
    url: `http://${host}:${port}/v1`,
    adminKey,
    addProject(name) {
      const project: Project = { id: id("proj"), name, created_at: now(), archived_at: null, serviceAccounts: new Map() };
      projects.set(project.id, project);
      return project.id;
    },
    addUser(email, role = "reader") {
      const user = { object: "organization.user", id: id("user"), name: email.split("@")[0] ?? email, email, role, added_at: now() };
      users.set(user.id, user);
      return user.id;
    },
    serviceAccountNames(projectId) {
      return [...(projects.get(projectId)?.serviceAccounts.values() ?? [])].map((a) => a.name);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
