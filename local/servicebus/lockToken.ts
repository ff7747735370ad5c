import { randomUUID } from "node:crypto";

/**
 * Lock tokens are uuids. On a delivery they travel as the 16-byte delivery tag in .NET GUID byte
 * order (the SDK swaps bytes 0-3, 4-5 and 6-7 back before it makes its string); in $management
 * requests they travel as AMQP uuids in ordinary (RFC 4122) byte order.
 */

export function newLockToken(): string {
  return randomUUID();
}

export function lockTokenToBytes(token: string): Buffer {
  return Buffer.from(token.replace(/-/g, ""), "hex");
}

export function lockTokenFromBytes(bytes: Buffer): string {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function swapGuidOrder(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  out[0] = bytes[3] ?? 0;
  out[1] = bytes[2] ?? 0;
  out[2] = bytes[1] ?? 0;
  out[3] = bytes[0] ?? 0;
  out[4] = bytes[5] ?? 0;
  out[5] = bytes[4] ?? 0;
  out[6] = bytes[7] ?? 0;
  out[7] = bytes[6] ?? 0;
  return out;
}

/** The delivery tag that carries `token` (.NET GUID byte order). */
export function lockTokenToDeliveryTag(token: string): Buffer {
  return swapGuidOrder(lockTokenToBytes(token));
}

/** The token a delivery tag carries; undefined when the tag is not a 16-byte lock token. */
export function lockTokenFromDeliveryTag(tag: Buffer | string): string | undefined {
  const bytes = typeof tag === "string" ? Buffer.from(tag) : tag;
  if (bytes.length !== 16) return undefined;
  return lockTokenFromBytes(swapGuidOrder(bytes));
}
