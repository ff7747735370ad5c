import { normalizeIp } from "./ipAddress.js";

export interface ClientAddressInput {
  /** The TCP peer as the host reports it (may be IPv4-mapped IPv6, may carry a port). */
  readonly remoteAddress: string | null;
  /** The x-forwarded-for header, several headers joined with ", ". */
  readonly forwardedFor: string | undefined;
  /** policy.network.trustedProxyHops: how many reverse proxies in front of Palisade append to it. */
  readonly trustedProxyHops: number;
}

/**
 * The client's address, normalised (`::ffff:a.b.c.d` becomes `a.b.c.d`, ports and brackets dropped).
 *
 * Each proxy appends the address of whoever connected to it, so with N trusted proxies the client is
 * the Nth entry from the right. Entries further left were written by the caller and are never read.
 * With 0 hops the socket address is used and x-forwarded-for is ignored. Fewer entries than hops, or
 * an unparsable entry at that position, give null (unknown), which fails any IP allowlist.
 */
export function clientAddress(input: ClientAddressInput): string | null {
  const hops = input.trustedProxyHops;
  if (!Number.isInteger(hops) || hops < 0) return null;
  if (hops === 0) return input.remoteAddress === null ? null : normalizeIp(input.remoteAddress);
  if (input.forwardedFor === undefined) return null;
  const entries = input.forwardedFor.split(",").map((entry) => entry.trim());
  if (entries.length < hops) return null;
  const entry = entries[entries.length - hops];
  return entry === undefined || entry === "" ? null : normalizeIp(entry);
}
