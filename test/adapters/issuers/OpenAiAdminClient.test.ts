import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMockOpenAiAdmin, startMockOpenAiAdmin } from "../../../local/mockOpenAiAdmin/index.js";
import { OpenAiAdminClient, type OpenAiProject } from "../../../src/adapters/issuers/OpenAiAdminClient.js";
import { OpenAiServiceAccountKeyIssuer } from "../../../src/adapters/issuers/OpenAiServiceAccountKeyIssuer.js";
import { credentialFixture } from "../../core/rotation/rotationFixture.js";

let api: RunningMockOpenAiAdmin;
let admin: OpenAiAdminClient;
beforeAll(async () => {
  api = await startMockOpenAiAdmin();
  admin = new OpenAiAdminClient({ baseUrl: api.url, adminKey: async () => api.adminKey });
});
afterAll(async () => {
  await api.stop();
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("OpenAiAdminClient over HTTP", () => {
  it("creates, lists (across pages) and archives projects", async () => {
    const created: OpenAiProject[] = [];
    for (let i = 0; i < 105; i += 1) created.push(await admin.createProject(`p-${i}`));
    expect(created[0]).toMatchObject({ object: "organization.project", name: "p-0", status: "active" });
    const listed = await collect(admin.listProjects());
    expect(listed.map((p) => p.id)).toEqual(expect.arrayContaining(created.map((p) => p.id)));
    expect(new Set(listed.map((p) => p.id)).size).toBe(listed.length);
    const archived = await admin.archiveProject(created[0]?.id ?? "");
    expect(archived.status).toBe("archived");
    expect((await collect(admin.listProjects())).some((p) => p.id === created[0]?.id)).toBe(false);
  });

  it("manages service accounts and their keys; the key is handed out once", async () => {
    const project = await admin.createProject("keys");
    const account = await admin.createServiceAccount(project.id, "gateway-1");
    expect(account.api_key.value).toMatch(/^sk-svcacct-/);
    const keys = await collect(admin.listProjectApiKeys(project.id));
    expect(keys).toHaveLength(1);
    expect(JSON.stringify(keys)).not.toContain(account.api_key.value);
    expect((await collect(admin.listServiceAccounts(project.id))).map((a) => a.name)).toEqual(["gateway-1"]);
    expect(await admin.deleteProjectApiKey(project.id, keys[0]?.id ?? "")).toBe(true);
    expect(await admin.deleteServiceAccount(project.id, account.id)).toBe(false); // already gone with its key
  });

  it("lists and deletes users, creates and deletes invites and roles", async () => {
    const userId = api.addUser("ada@contoso.com");
    expect((await collect(admin.listUsers())).map((u) => u.email)).toContain("ada@contoso.com");
    expect(await admin.deleteUser(userId)).toBe(true);
    expect(await admin.deleteUser(userId)).toBe(false);

    const invite = await admin.createInvite({ email: "bob@contoso.com", role: "reader" });
    expect(invite).toMatchObject({ object: "organization.invite", status: "pending", role: "reader" });
    expect((await collect(admin.listInvites())).map((i) => i.id)).toContain(invite.id);
    expect(await admin.deleteInvite(invite.id)).toBe(true);

    const role = await admin.createRole({ role_name: "auditor", permissions: ["api.organization.read"] });
    expect(role).toMatchObject({ object: "role", name: "auditor", predefined_role: false });
    expect((await collect(admin.listRoles())).map((r) => r.name)).toEqual(expect.arrayContaining(["owner", "auditor"]));
    expect(await admin.deleteRole(role.id)).toBe(true);
  });

  it("fails with status and code, never echoing the admin key", async () => {
    const wrong = new OpenAiAdminClient({ baseUrl: api.url, adminKey: async () => "sk-admin-wrong-key-value" });
    const error: unknown = await collect(wrong.listProjects()).then(() => null, (caught: unknown) => caught);
    expect((error as Error).message).toMatch(/status 401, invalid_api_key/);
    expect((error as Error).message).not.toContain("sk-admin-wrong-key-value");
  });

  it("cleans up an account left by a crashed mint of the same rotation", async () => {
    const projectId = api.addProject("resume");
    const issuer = new OpenAiServiceAccountKeyIssuer({ admin });
    const credential = credentialFixture({ issuer: "openai", target: `${projectId}/gw` });
    const context = { rotationId: "0f3a9b1c-aaaa", slotsInUse: [], expiresAtInMs: Date.now() + 86_400_000 };
    const orphan = await issuer.mint(credential, context);
    const again = await issuer.mint(credential, context);
    expect(api.serviceAccountNames(projectId)).toEqual(["gw-0f3a9b1caaaa"]);
    expect(await issuer.verify(credential, orphan.value)).toBe(false);
    expect(await issuer.verify(credential, again.value)).toBe(true);
  });
});
