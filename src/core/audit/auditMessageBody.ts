/**
 * The audit queue's message bodies (docs/audit.md, "The queue's messages"). A message carries either ONE
 * event (its JSON, as every publisher before packing wrote) or several events of one chain, packed:
 *
 *   {"format":"palisade-audit-events/v1","events":[<event>,<event>,...]}
 *
 * A packed message costs the broker one send, one delivery and one settlement for all its events (and
 * Service Bus Standard bills per operation). An event has no `format` field (its schema refuses unknown
 * fields), so the two shapes cannot be mistaken for each other, and a consumer reads both: messages
 * already queued by an older publisher stay readable during an upgrade.
 */
export const PACKED_AUDIT_FORMAT = "palisade-audit-events/v1";

const PACKED_PREFIX = `{"format":"${PACKED_AUDIT_FORMAT}","events":[`;
const PACKED_SUFFIX = "]}";

/** A packed body from its events' JSON texts (each `JSON.stringify(event)`), in order. */
export function packedAuditBody(eventJsons: readonly string[]): string {
  return `${PACKED_PREFIX}${eventJsons.join(",")}${PACKED_SUFFIX}`;
}

/** The UTF-8 size of `packedAuditBody` for events of these UTF-8 sizes, without building it. */
export function packedAuditBodyBytes(eventBytes: number, eventCount: number): number {
  return PACKED_PREFIX.length + eventBytes + Math.max(0, eventCount - 1) + PACKED_SUFFIX.length;
}

/**
 * A decoded body, not yet validated as events: one event's value, a packed message's values in order,
 * or a body that holds no event at all (with a reason that names fields, never values).
 */
export type UnpackedAuditBody =
  | { readonly kind: "single"; readonly value: unknown }
  | { readonly kind: "packed"; readonly values: readonly unknown[] }
  | { readonly kind: "invalid"; readonly reason: string };

function parsedBody(body: unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    if (typeof body === "string") return { ok: true, value: JSON.parse(body) as unknown };
    if (body instanceof Uint8Array) return { ok: true, value: JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8")) as unknown };
  } catch {
    return { ok: false };
  }
  return { ok: true, value: body };
}

/** Decodes a Service Bus body (parsed JSON, JSON text or UTF-8 bytes: hosts hand over any of them). */
export function unpackAuditBody(body: unknown): UnpackedAuditBody {
  const parsed = parsedBody(body);
  if (!parsed.ok) return { kind: "invalid", reason: "invalid_json: the message body is not JSON" };
  const value = parsed.value;
  if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.hasOwn(value, "format")) return { kind: "single", value };
  const envelope = value as Record<string, unknown>;
  if (envelope.format !== PACKED_AUDIT_FORMAT) return { kind: "invalid", reason: `unsupported_format: format is not ${PACKED_AUDIT_FORMAT} (a newer publisher? upgrade the appender, then replay)` };
  const extra = Object.keys(envelope).filter((key) => key !== "format" && key !== "events");
  if (extra.length > 0) return { kind: "invalid", reason: `schema: (envelope): unrecognized_keys (${extra.length})` };
  const events = envelope.events;
  if (!Array.isArray(events) || events.length === 0) return { kind: "invalid", reason: "schema: events: a packed message holds a non-empty array of events" };
  return { kind: "packed", values: events as unknown[] };
}

/**
 * One event of a packed body as its own JSON bytes (a single-event body), for the dead-letter store:
 * replayed, it is an ordinary one-event message. Undefined when the body holds no such part.
 */
export function packedAuditPart(body: unknown, part: number): Uint8Array | undefined {
  const unpacked = unpackAuditBody(body);
  if (unpacked.kind !== "packed" || part < 0 || part >= unpacked.values.length) return undefined;
  return Buffer.from(JSON.stringify(unpacked.values[part]) ?? "null", "utf8");
}
