import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Shared access signatures as Service Bus issues and checks them:
 * `SharedAccessSignature sr=<url-encoded resource>&sig=<url-encoded base64 HMAC>&se=<expiry s>&skn=<key name>`,
 * the HMAC-SHA256 (key used as UTF-8 text) being over `<url-encoded resource>\n<expiry>`.
 */

export interface SasKey {
  readonly keyName: string;
  readonly key: string;
}

export type SasVerdict =
  | { readonly ok: true; readonly resource: string; readonly expiresAtMs: number }
  | { readonly ok: false; readonly reason: string };

function sign(key: string, resource: string, expiry: string): string {
  return createHmac("sha256", key).update(`${encodeURIComponent(resource)}\n${expiry}`).digest("base64");
}

export function createSasToken(sasKey: SasKey, resource: string, expiresAtMs: number): string {
  const expiry = String(Math.floor(expiresAtMs / 1000));
  const signature = sign(sasKey.key, resource, expiry);
  return `SharedAccessSignature sr=${encodeURIComponent(resource)}&sig=${encodeURIComponent(signature)}&se=${expiry}&skn=${encodeURIComponent(sasKey.keyName)}`;
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Checks a token's signature, key name and expiry. Never says which part of a bad signature differed. */
export function verifySasToken(token: string, sasKey: SasKey, nowInMs: number): SasVerdict {
  const prefix = "SharedAccessSignature ";
  if (!token.startsWith(prefix)) return { ok: false, reason: "not a shared access signature" };
  const fields = new Map<string, string>();
  for (const part of token.slice(prefix.length).split("&")) {
    const at = part.indexOf("=");
    if (at > 0) fields.set(part.slice(0, at), part.slice(at + 1));
  }
  const resource = safeDecode(fields.get("sr") ?? "");
  const signature = safeDecode(fields.get("sig") ?? "");
  const expiry = fields.get("se") ?? "";
  const keyName = safeDecode(fields.get("skn") ?? "");
  if (!resource || !signature || !/^\d+$/.test(expiry) || keyName === undefined) {
    return { ok: false, reason: "malformed shared access signature" };
  }
  if (keyName !== sasKey.keyName) return { ok: false, reason: "unknown shared access key name" };
  const expected = Buffer.from(sign(sasKey.key, resource, expiry));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: "invalid signature" };
  }
  const expiresAtMs = Number(expiry) * 1000;
  if (expiresAtMs <= nowInMs) return { ok: false, reason: "expired token" };
  return { ok: true, resource, expiresAtMs };
}
