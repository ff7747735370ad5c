/**
 * IP addresses as numbers: IPv4 as a 32-bit value, IPv6 as a 128-bit value. An IPv4-mapped IPv6
 * address (`::ffff:a.b.c.d`) is the IPv4 address it carries, so an allowlist written in either form
 * matches a client however its socket reports it.
 */

export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

const IPV4_MAPPED_PREFIX = 0xffffn << 32n;
const IPV4_MAPPED_MASK = ((1n << 96n) - 1n) << 32n;

function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseGroups(text: string): bigint[] | null {
  if (text === "") return [];
  const groups: bigint[] = [];
  const parts = text.split(":");
  for (const [index, part] of parts.entries()) {
    if (index === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push(v4 >> 16n, v4 & 0xffffn);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
    groups.push(BigInt(`0x${part}`));
  }
  return groups;
}

function parseIpv6(text: string): bigint | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0] ?? "");
  if (head === null) return null;
  let groups: bigint[];
  if (halves.length === 2) {
    const tail = parseGroups(halves[1] ?? "");
    if (tail === null) return null;
    // An embedded IPv4 address may only end the address.
    if ((halves[0] ?? "").includes(".")) return null;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...Array<bigint>(missing).fill(0n), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  return groups.reduce((value, group) => (value << 16n) | group, 0n);
}

/** Parses a literal IPv4 or IPv6 address (no port, no brackets, no zone). Mapped IPv6 becomes IPv4. */
export function parseIp(text: string): IpAddress | null {
  if (text.length === 0 || text.length > 45) return null;
  if (!text.includes(":")) {
    const v4 = parseIpv4(text);
    return v4 === null ? null : { family: 4, value: v4 };
  }
  const v6 = parseIpv6(text);
  if (v6 === null) return null;
  if ((v6 & IPV4_MAPPED_MASK) === IPV4_MAPPED_PREFIX) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/** True when a 128-bit value lies in ::ffff:0:0/96. */
export function isIpv4Mapped(value: bigint): boolean {
  return (value & IPV4_MAPPED_MASK) === IPV4_MAPPED_PREFIX;
}

/** Canonical text: dotted quad, or RFC 5952 (lower case, longest zero run compressed). */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) {
    const v = address.value;
    return [24n, 16n, 8n, 0n].map((shift) => String((v >> shift) & 0xffn)).join(".");
  }
  const groups = Array.from({ length: 8 }, (_, index) => Number((address.value >> BigInt((7 - index) * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/**
 * Normalises an address as sockets and proxies report it: strips `[...]` brackets, an IPv6 zone
 * (`%eth0`) and a port (`1.2.3.4:5678`, `[2001:db8::1]:443`), then canonicalises. Null if not an address.
 */
export function normalizeIp(text: string): string | null {
  let candidate = text.trim();
  if (candidate.startsWith("[")) {
    const close = candidate.indexOf("]");
    if (close < 0) return null;
    const rest = candidate.slice(close + 1);
    if (rest !== "" && !/^:[0-9]{1,5}$/.test(rest)) return null;
    candidate = candidate.slice(1, close);
  } else if (/^[0-9.]+:[0-9]{1,5}$/.test(candidate)) {
    candidate = candidate.slice(0, candidate.indexOf(":"));
  }
  const zone = candidate.indexOf("%");
  if (zone >= 0 && candidate.includes(":")) candidate = candidate.slice(0, zone);
  const parsed = parseIp(candidate);
  return parsed === null ? null : formatIp(parsed);
}
