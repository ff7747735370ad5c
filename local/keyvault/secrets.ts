import {
  isRecord,
  isValidName,
  newVersionId,
  ok,
  page,
  readEpochSeconds,
  readTags,
  toEpochSeconds,
  type VaultRequest,
  type VaultResponse,
  vaultError,
} from "./http.js";

interface StoredSecretVersion {
  readonly version: string;
  readonly value: string;
  contentType: string | undefined;
  tags: Record<string, string> | undefined;
  enabled: boolean;
  nbf: number | undefined;
  exp: number | undefined;
  readonly created: number;
  updated: number;
}

interface StoredSecret {
  /** In creation order; the last one is the latest. */
  readonly versions: StoredSecretVersion[];
}

interface DeletedSecret {
  readonly secret: StoredSecret;
  readonly deletedDate: number;
}

const RECOVERABLE_DAYS = 90;
const MAX_VALUE_LENGTH = 25 * 1024;

/** The secrets half of the vault: `/secrets/...` and `/deletedsecrets/...`, in memory. */
export class SecretsHandler {
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly deleted = new Map<string, DeletedSecret>();

  constructor(private readonly nowInMs: () => number) {}

  handleSecrets(request: VaultRequest): VaultResponse {
    const [name, second, ...rest] = request.segments;
    if (name === undefined || name === "") {
      return request.method === "GET" ? this.listSecrets(request) : methodNotAllowed();
    }
    if (rest.length > 0) return notFoundPath();
    if (second === "versions") return request.method === "GET" ? this.listVersions(request, name) : methodNotAllowed();
    const version = second ?? "";
    switch (request.method) {
      case "PUT":
        return version === "" ? this.set(request, name) : methodNotAllowed();
      case "GET":
        return this.get(request, name, version);
      case "PATCH":
        return this.update(request, name, version);
      case "DELETE":
        return version === "" ? this.softDelete(request, name) : methodNotAllowed();
      default:
        return methodNotAllowed();
    }
  }

  handleDeletedSecrets(request: VaultRequest): VaultResponse {
    const [name, action, ...rest] = request.segments;
    if (name === undefined || name === "") {
      return request.method === "GET" ? this.listDeleted(request) : methodNotAllowed();
    }
    if (rest.length > 0) return notFoundPath();
    if (action === "recover") return request.method === "POST" ? this.recover(request, name) : methodNotAllowed();
    if (action !== undefined && action !== "") return notFoundPath();
    if (request.method === "GET") {
      const entry = this.deleted.get(name);
      return entry === undefined ? deletedNotFound(name) : ok(this.deletedBundle(request.vaultUrl, name, entry));
    }
    if (request.method === "DELETE") {
      if (!this.deleted.delete(name)) return deletedNotFound(name);
      return { status: 204 };
    }
    return methodNotAllowed();
  }

  private set(request: VaultRequest, name: string): VaultResponse {
    if (!isValidName(name)) return badName(name);
    if (this.deleted.has(name)) {
      return vaultError(
        409,
        "Conflict",
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
        "ObjectIsDeletedButRecoverable",
      );
    }
    const body = request.body;
    if (!isRecord(body) || typeof body.value !== "string") return vaultError(400, "BadParameter", "The request must carry a string 'value'.");
    if (body.value.length > MAX_VALUE_LENGTH) return vaultError(400, "BadParameter", "The secret value is larger than 25 KB.");
    const fields = readWritableFields(body);
    if (typeof fields === "string") return vaultError(400, "BadParameter", fields);
    const now = toEpochSeconds(this.nowInMs());
    const stored: StoredSecretVersion = {
      version: newVersionId(),
      value: body.value,
      contentType: fields.contentType ?? undefined,
      tags: fields.tags,
      enabled: fields.enabled ?? true,
      nbf: fields.nbf ?? undefined,
      exp: fields.exp ?? undefined,
      created: now,
      updated: now,
    };
    const secret = this.secrets.get(name) ?? { versions: [] };
    secret.versions.push(stored);
    this.secrets.set(name, secret);
    return ok(bundle(request.vaultUrl, name, stored, true));
  }

  private get(request: VaultRequest, name: string, version: string): VaultResponse {
    const found = this.find(name, version);
    if (found === undefined) return secretNotFound(name, version);
    if (!found.enabled) {
      return vaultError(403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled");
    }
    return ok(bundle(request.vaultUrl, name, found, true));
  }

  private update(request: VaultRequest, name: string, version: string): VaultResponse {
    const found = this.find(name, version);
    if (found === undefined) return secretNotFound(name, version);
    if (!isRecord(request.body)) return vaultError(400, "BadParameter", "The request body must be a JSON object.");
    const fields = readWritableFields(request.body);
    if (typeof fields === "string") return vaultError(400, "BadParameter", fields);
    // PATCH semantics: absent fields stay as they are; an explicit null clears nbf/exp/contentType.
    if (fields.contentType !== undefined) found.contentType = fields.contentType ?? undefined;
    if (fields.tags !== undefined) found.tags = fields.tags;
    if (fields.enabled !== undefined) found.enabled = fields.enabled;
    if (fields.nbf !== undefined) found.nbf = fields.nbf ?? undefined;
    if (fields.exp !== undefined) found.exp = fields.exp ?? undefined;
    found.updated = toEpochSeconds(this.nowInMs());
    return ok(bundle(request.vaultUrl, name, found, false));
  }

  private softDelete(request: VaultRequest, name: string): VaultResponse {
    const secret = this.secrets.get(name);
    if (secret === undefined) return secretNotFound(name, "");
    this.secrets.delete(name);
    const entry: DeletedSecret = { secret, deletedDate: toEpochSeconds(this.nowInMs()) };
    this.deleted.set(name, entry);
    return ok(this.deletedBundle(request.vaultUrl, name, entry));
  }

  private recover(request: VaultRequest, name: string): VaultResponse {
    const entry = this.deleted.get(name);
    if (entry === undefined) return deletedNotFound(name);
    if (this.secrets.has(name)) return vaultError(409, "Conflict", `Secret ${name} already exists.`);
    this.deleted.delete(name);
    this.secrets.set(name, entry.secret);
    const latest = entry.secret.versions.at(-1);
    return ok(latest === undefined ? {} : bundle(request.vaultUrl, name, latest, false));
  }

  private listSecrets(request: VaultRequest): VaultResponse {
    const items = [...this.secrets.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([name, secret]) => {
        const latest = secret.versions.at(-1);
        return latest === undefined ? [] : [{ ...item(latest), id: `${request.vaultUrl}/secrets/${name}` }];
      });
    return page(items, request, "/secrets");
  }

  private listVersions(request: VaultRequest, name: string): VaultResponse {
    const secret = this.secrets.get(name);
    const items = (secret?.versions ?? []).map((v) => ({ ...item(v), id: `${request.vaultUrl}/secrets/${name}/${v.version}` }));
    return page(items, request, `/secrets/${encodeURIComponent(name)}/versions`);
  }

  private listDeleted(request: VaultRequest): VaultResponse {
    const items = [...this.deleted.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, entry]) => this.deletedBundle(request.vaultUrl, name, entry));
    return page(items, request, "/deletedsecrets");
  }

  private find(name: string, version: string): StoredSecretVersion | undefined {
    const secret = this.secrets.get(name);
    if (secret === undefined) return undefined;
    return version === "" ? secret.versions.at(-1) : secret.versions.find((v) => v.version === version);
  }

  private deletedBundle(vaultUrl: string, name: string, entry: DeletedSecret): Record<string, unknown> {
    const latest = entry.secret.versions.at(-1);
    return {
      ...(latest === undefined ? {} : bundle(vaultUrl, name, latest, false)),
      recoveryId: `${vaultUrl}/deletedsecrets/${name}`,
      deletedDate: entry.deletedDate,
      scheduledPurgeDate: entry.deletedDate + RECOVERABLE_DAYS * 86_400,
    };
  }
}

interface WritableFields {
  contentType?: string | null;
  tags?: Record<string, string>;
  enabled?: boolean;
  nbf?: number | null;
  exp?: number | null;
}

/** The writable parts of a set/update body, or a message saying what is wrong. */
function readWritableFields(body: Record<string, unknown>): WritableFields | string {
  const fields: WritableFields = {};
  const contentType = body.contentType;
  if (contentType === null || typeof contentType === "string") fields.contentType = contentType;
  else if (contentType !== undefined) return "contentType must be a string.";
  const tags = readTags(body.tags);
  if (tags === "invalid") return "tags must be an object of at most 15 string values.";
  if (tags !== undefined) fields.tags = tags;
  const attributes = body.attributes;
  if (attributes !== undefined && attributes !== null) {
    if (!isRecord(attributes)) return "attributes must be an object.";
    if (attributes.enabled !== undefined && attributes.enabled !== null) {
      if (typeof attributes.enabled !== "boolean") return "attributes.enabled must be a boolean.";
      fields.enabled = attributes.enabled;
    }
    const nbf = readEpochSeconds(attributes.nbf);
    const exp = readEpochSeconds(attributes.exp);
    if (nbf === "invalid" || exp === "invalid") return "attributes.nbf and attributes.exp must be epoch seconds.";
    if (nbf !== undefined) fields.nbf = nbf;
    if (exp !== undefined) fields.exp = exp;
  }
  return fields;
}

function attributes(v: StoredSecretVersion): Record<string, unknown> {
  return {
    enabled: v.enabled,
    ...(v.nbf === undefined ? {} : { nbf: v.nbf }),
    ...(v.exp === undefined ? {} : { exp: v.exp }),
    created: v.created,
    updated: v.updated,
    recoveryLevel: "Recoverable+Purgeable",
    recoverableDays: RECOVERABLE_DAYS,
  };
}

function item(v: StoredSecretVersion): Record<string, unknown> {
  return {
    attributes: attributes(v),
    ...(v.contentType === undefined ? {} : { contentType: v.contentType }),
    ...(v.tags === undefined ? {} : { tags: v.tags }),
  };
}

function bundle(vaultUrl: string, name: string, v: StoredSecretVersion, withValue: boolean): Record<string, unknown> {
  return {
    ...(withValue ? { value: v.value } : {}),
    id: `${vaultUrl}/secrets/${name}/${v.version}`,
    ...item(v),
  };
}

const secretNotFound = (name: string, version: string): VaultResponse =>
  vaultError(
    404,
    "SecretNotFound",
    version === ""
      ? `A secret with (name/id) ${name} was not found in this key vault.`
      : `A secret with (name/id) ${name}/${version} was not found in this key vault.`,
  );
const deletedNotFound = (name: string): VaultResponse =>
  vaultError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
const badName = (name: string): VaultResponse =>
  vaultError(400, "BadParameter", `The secret name '${name}' is invalid: use 1-127 letters, digits and dashes.`);
const methodNotAllowed = (): VaultResponse => vaultError(405, "MethodNotAllowed", "This method is not supported on this path.");
const notFoundPath = (): VaultResponse => vaultError(404, "NotFound", "No such operation.");
