import { generateKeyPairSync } from "node:crypto";
import { signP256Digest, verifyP256Digest } from "./ecdsaP256.js";
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

interface StoredKeyVersion {
  readonly version: string;
  /** base64url JWK members of the P-256 key; `d` never leaves the emulator. */
  readonly d: string;
  readonly x: string;
  readonly y: string;
  readonly keyOps: readonly string[];
  enabled: boolean;
  nbf: number | undefined;
  exp: number | undefined;
  tags: Record<string, string> | undefined;
  readonly created: number;
  updated: number;
}

/** What a request decides about a new version; the key material and times are the vault's. */
type KeyVersionSettings = Pick<StoredKeyVersion, "keyOps" | "enabled" | "nbf" | "exp" | "tags">;

const EC_KEY_OPS = ["sign", "verify"] as const;

/**
 * The keys half of the vault: EC P-256 keys, created in software, with ES256 sign and verify over a
 * digest as Key Vault's `CryptographyClient` calls them. No HSM, no RSA, no import, no delete.
 */
export class KeysHandler {
  private readonly keys = new Map<string, StoredKeyVersion[]>();

  constructor(private readonly nowInMs: () => number) {}

  handleKeys(request: VaultRequest): VaultResponse {
    const [name, second, third, ...rest] = request.segments;
    if (name === undefined || name === "") return request.method === "GET" ? this.list(request) : methodNotAllowed();
    if (rest.length > 0) return notFoundPath();
    if (second === "create" && third === undefined) return request.method === "POST" ? this.create(request, name) : methodNotAllowed();
    if (second === "versions" && third === undefined) return request.method === "GET" ? this.listVersions(request, name) : methodNotAllowed();
    if (second === "rotate" && third === undefined) return request.method === "POST" ? this.rotate(request, name) : methodNotAllowed();
    const version = second ?? "";
    if (third === undefined || third === "") {
      if (request.method === "GET") return this.get(request, name, version);
      if (request.method === "PATCH") return this.update(request, name, version);
      return methodNotAllowed();
    }
    if (request.method !== "POST") return methodNotAllowed();
    if (third === "sign") return this.sign(request, name, version);
    if (third === "verify") return this.verify(request, name, version);
    return vaultError(400, "BadParameter", `The operation '${third}' is not supported by the emulator: only sign and verify.`);
  }

  private create(request: VaultRequest, name: string): VaultResponse {
    if (!isValidName(name)) return vaultError(400, "BadParameter", `The key name '${name}' is invalid: use 1-127 letters, digits and dashes.`);
    const body = request.body;
    if (!isRecord(body)) return vaultError(400, "BadParameter", "The request body must be a JSON object.");
    if (body.kty !== "EC" && body.kty !== "EC-HSM") {
      return vaultError(400, "BadParameter", "The emulator creates EC keys only (kty EC, crv P-256).");
    }
    if (body.crv !== undefined && body.crv !== "P-256") {
      return vaultError(400, "BadParameter", "The emulator supports the P-256 curve only.");
    }
    const tags = readTags(body.tags);
    if (tags === "invalid") return vaultError(400, "BadParameter", "tags must be an object of at most 15 string values.");
    const attrs = isRecord(body.attributes) ? body.attributes : {};
    const nbf = readEpochSeconds(attrs.nbf);
    const exp = readEpochSeconds(attrs.exp);
    if (nbf === "invalid" || exp === "invalid") return vaultError(400, "BadParameter", "attributes.nbf and attributes.exp must be epoch seconds.");
    const requestedOps = Array.isArray(body.key_ops) ? body.key_ops.filter((op): op is string => typeof op === "string") : [...EC_KEY_OPS];
    if (requestedOps.some((op) => !(EC_KEY_OPS as readonly string[]).includes(op))) {
      return vaultError(400, "BadParameter", "EC keys support the key_ops sign and verify only.");
    }
    return this.addVersion(request, name, () => ({
      keyOps: requestedOps,
      enabled: typeof attrs.enabled === "boolean" ? attrs.enabled : true,
      nbf: nbf ?? undefined,
      exp: exp ?? undefined,
      tags,
    }));
  }

  /** A new version like the latest one (ops, tags), made in the vault; its expiry keeps the latest's lifetime, as a rotation policy's `expiryTime` would. */
  private rotate(request: VaultRequest, name: string): VaultResponse {
    const latest = this.find(name, "");
    if (latest === undefined) return keyNotFound(name, "");
    return this.addVersion(request, name, (now) => ({
      keyOps: [...latest.keyOps],
      enabled: true,
      nbf: undefined,
      exp: latest.exp === undefined ? undefined : now + (latest.exp - latest.created),
      tags: latest.tags,
    }));
  }

  /** A new P-256 version of the key, with the settings it gets at its creation time (epoch seconds). */
  private addVersion(request: VaultRequest, name: string, settingsAt: (now: number) => KeyVersionSettings): VaultResponse {
    const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
    if (typeof jwk.d !== "string" || typeof jwk.x !== "string" || typeof jwk.y !== "string") return vaultError(500, "InternalError", "Key generation failed.");
    const now = toEpochSeconds(this.nowInMs());
    const stored: StoredKeyVersion = { version: newVersionId(), d: jwk.d, x: jwk.x, y: jwk.y, ...settingsAt(now), created: now, updated: now };
    const versions = this.keys.get(name) ?? [];
    versions.push(stored);
    this.keys.set(name, versions);
    return ok(keyBundle(request.vaultUrl, name, stored));
  }

  private get(request: VaultRequest, name: string, version: string): VaultResponse {
    const found = this.find(name, version);
    return found === undefined ? keyNotFound(name, version) : ok(keyBundle(request.vaultUrl, name, found));
  }

  private update(request: VaultRequest, name: string, version: string): VaultResponse {
    const found = this.find(name, version);
    if (found === undefined) return keyNotFound(name, version);
    const body = isRecord(request.body) ? request.body : {};
    const tags = readTags(body.tags);
    if (tags === "invalid") return vaultError(400, "BadParameter", "tags must be an object of at most 15 string values.");
    if (tags !== undefined) found.tags = tags;
    if (isRecord(body.attributes)) {
      if (typeof body.attributes.enabled === "boolean") found.enabled = body.attributes.enabled;
      const exp = readEpochSeconds(body.attributes.exp);
      if (exp === "invalid") return vaultError(400, "BadParameter", "attributes.exp must be epoch seconds.");
      if (exp !== undefined) found.exp = exp ?? undefined;
    }
    found.updated = toEpochSeconds(this.nowInMs());
    return ok(keyBundle(request.vaultUrl, name, found));
  }

  private sign(request: VaultRequest, name: string, version: string): VaultResponse {
    const usable = this.usableFor("sign", name, version);
    if ("status" in usable) return usable;
    const digest = readDigest(request.body, "value");
    if (typeof digest === "string") return vaultError(400, "BadParameter", digest);
    const signature = signP256Digest(usable, digest);
    return ok({ kid: kid(request.vaultUrl, name, usable), value: signature.toString("base64url") });
  }

  private verify(request: VaultRequest, name: string, version: string): VaultResponse {
    const usable = this.usableFor("verify", name, version);
    if ("status" in usable) return usable;
    const digest = readDigest(request.body, "digest");
    if (typeof digest === "string") return vaultError(400, "BadParameter", digest);
    const signatureText = isRecord(request.body) ? request.body.value : undefined;
    if (typeof signatureText !== "string") return vaultError(400, "BadParameter", "The request must carry the signature in 'value' (base64url).");
    return ok({ value: verifyP256Digest(usable, digest, Buffer.from(signatureText, "base64url")) });
  }

  private usableFor(operation: "sign" | "verify", name: string, version: string): StoredKeyVersion | VaultResponse {
    const found = this.find(name, version);
    if (found === undefined) return keyNotFound(name, version);
    if (!found.enabled) return vaultError(403, "Forbidden", `Operation ${operation} is not allowed on a disabled key.`, "KeyDisabled");
    if (!found.keyOps.includes(operation)) return vaultError(403, "Forbidden", `Operation ${operation} is not permitted on this key.`);
    return found;
  }

  private list(request: VaultRequest): VaultResponse {
    const items = [...this.keys.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([name, versions]) => {
        const latest = versions.at(-1);
        return latest === undefined ? [] : [keyItem(`${request.vaultUrl}/keys/${name}`, latest)];
      });
    return page(items, request, "/keys");
  }

  private listVersions(request: VaultRequest, name: string): VaultResponse {
    const items = (this.keys.get(name) ?? []).map((v) => keyItem(kid(request.vaultUrl, name, v), v));
    return page(items, request, `/keys/${encodeURIComponent(name)}/versions`);
  }

  private find(name: string, version: string): StoredKeyVersion | undefined {
    const versions = this.keys.get(name);
    if (versions === undefined) return undefined;
    return version === "" ? versions.at(-1) : versions.find((v) => v.version === version);
  }
}

/** A base64url SHA-256 digest under `field`, with alg ES256; or a message saying what is wrong. */
function readDigest(body: unknown, field: "value" | "digest"): Buffer | string {
  if (!isRecord(body)) return "The request body must be a JSON object.";
  if (body.alg !== "ES256") return "The emulator signs with ES256 only (a P-256 key and a SHA-256 digest).";
  const text = body[field];
  if (typeof text !== "string") return `The request must carry the digest in '${field}' (base64url).`;
  const digest = Buffer.from(text, "base64url");
  if (digest.length !== 32) return "ES256 takes a 32-byte SHA-256 digest.";
  return digest;
}

const kid = (vaultUrl: string, name: string, v: StoredKeyVersion): string => `${vaultUrl}/keys/${name}/${v.version}`;

function keyAttributes(v: StoredKeyVersion): Record<string, unknown> {
  return {
    enabled: v.enabled,
    ...(v.nbf === undefined ? {} : { nbf: v.nbf }),
    ...(v.exp === undefined ? {} : { exp: v.exp }),
    created: v.created,
    updated: v.updated,
    recoveryLevel: "Recoverable+Purgeable",
    recoverableDays: 90,
    exportable: false,
  };
}

function keyItem(id: string, v: StoredKeyVersion): Record<string, unknown> {
  return { kid: id, attributes: keyAttributes(v), ...(v.tags === undefined ? {} : { tags: v.tags }) };
}

function keyBundle(vaultUrl: string, name: string, v: StoredKeyVersion): Record<string, unknown> {
  return {
    key: { kid: kid(vaultUrl, name, v), kty: "EC", crv: "P-256", x: v.x, y: v.y, key_ops: v.keyOps },
    attributes: keyAttributes(v),
    ...(v.tags === undefined ? {} : { tags: v.tags }),
  };
}

const keyNotFound = (name: string, version: string): VaultResponse =>
  vaultError(404, "KeyNotFound", `A key with (name/id) ${version === "" ? name : `${name}/${version}`} was not found in this key vault.`);
const methodNotAllowed = (): VaultResponse => vaultError(405, "MethodNotAllowed", "This method is not supported on this path.");
const notFoundPath = (): VaultResponse => vaultError(404, "NotFound", "No such operation.");
