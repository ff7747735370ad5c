import { type Message, type Typed } from "rhea";
import { amqpMessage, amqpTypes, encodeTyped } from "./amqp.js";

/**
 * A message as the broker holds it: the sender's sections kept as bytes (so properties,
 * application properties and body reach the receiver exactly as sent), with the header and the
 * message annotations rebuilt on every delivery to carry what the broker knows.
 */

const SECTION_CODES: Readonly<Record<string, number>> = {
  "amqp:header:list": 0x70,
  "amqp:delivery-annotations:map": 0x71,
  "amqp:message-annotations:map": 0x72,
  "amqp:properties:list": 0x73,
  "amqp:application-properties:map": 0x74,
  "amqp:data:binary": 0x75,
  "amqp:amqp-sequence:list": 0x76,
  "amqp:amqp-value:*": 0x77,
  "amqp:value:*": 0x77,
  "amqp:footer:map": 0x78,
};

/** Message format of a batch: one data section per encoded message. */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

const BROKER_ANNOTATIONS = new Set([
  "x-opt-sequence-number",
  "x-opt-enqueued-time",
  "x-opt-locked-until",
  "x-opt-message-state",
]);

interface RawSection {
  readonly code: number;
  readonly value: Typed;
  readonly bytes: Buffer;
}

function sectionCode(section: Typed): number {
  const descriptor: unknown = section.descriptor;
  const value: unknown = descriptor instanceof Object && "value" in descriptor ? descriptor.value : undefined;
  if (typeof value === "number") return value;
  if (typeof value === "string") return SECTION_CODES[value] ?? -1;
  return -1;
}

function readSections(bytes: Buffer): RawSection[] {
  const reader = new amqpTypes.Reader(bytes);
  const sections: RawSection[] = [];
  while (reader.remaining() > 0) {
    const start = reader.position;
    const value = reader.read();
    sections.push({ code: sectionCode(value), value, bytes: bytes.subarray(start, reader.position) });
  }
  return sections;
}

/** Map entries of a map section, keys as strings, values as the typed values that were sent. */
function mapEntries(section: Typed): [string, Typed][] {
  const items: unknown = section.value;
  const entries: [string, Typed][] = [];
  if (!Array.isArray(items)) return entries;
  for (let i = 0; i + 1 < items.length; i += 2) {
    const key = items[i] as Typed;
    entries.push([String(key.value), items[i + 1] as Typed]);
  }
  return entries;
}

/** The encoded messages inside a batch transfer (format 0x80013700). */
export function splitBatch(bytes: Buffer): Buffer[] {
  return readSections(bytes)
    .filter((section) => section.code === 0x75 && Buffer.isBuffer(section.value.value))
    .map((section) => section.value.value as Buffer);
}

function toMs(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  return undefined;
}

const PROPERTY_FIELDS = [
  "message_id", "user_id", "to", "subject", "reply_to", "correlation_id", "content_type", "content_encoding",
  "absolute_expiry_time", "creation_time", "group_id", "group_sequence", "reply_to_group_id",
] as const;

export interface DeliveryAnnotations {
  readonly sequenceNumber: number;
  readonly enqueuedAtMs: number;
  readonly lockedUntilMs?: number;
  /** 0 active, 1 deferred, 2 scheduled (Service Bus's x-opt-message-state). */
  readonly state: number;
  readonly deliveryCount: number;
}

export class StoredMessage {
  private applicationProperties: Buffer | undefined;

  private constructor(
    readonly messageId: string,
    readonly sessionId: string | undefined,
    readonly scheduledEnqueueTimeMs: number | undefined,
    private readonly header: Readonly<Record<string, unknown>>,
    private readonly annotations: readonly [string, Typed][],
    private readonly properties: Buffer,
    applicationProperties: Buffer | undefined,
    private readonly body: Buffer,
  ) {
    this.applicationProperties = applicationProperties;
  }

  /** From a message as rhea decoded it and the bytes it came from; gives it a message id if it has none. */
  static fromWire(decoded: Message, raw: Buffer, newMessageId: () => string): StoredMessage {
    const bytes = Buffer.from(raw); // a copy: the transfer's buffer is shared with the socket's read
    const sections = readSections(bytes);
    let annotations: [string, Typed][] = [];
    let properties: Buffer | undefined;
    let applicationProperties: Buffer | undefined;
    const body: Buffer[] = [];
    for (const section of sections) {
      if (section.code === 0x72) annotations = mapEntries(section.value).filter(([key]) => !BROKER_ANNOTATIONS.has(key));
      else if (section.code === 0x73) properties = section.bytes;
      else if (section.code === 0x74) applicationProperties = section.bytes;
      else if (section.code >= 0x75 && section.code <= 0x78) body.push(section.bytes);
    }
    const fields = decoded as unknown as Record<string, unknown>;
    let messageId = fields.message_id;
    if (messageId === undefined || messageId === null || messageId === "") {
      messageId = newMessageId();
      const values: Record<string, unknown> = {};
      for (const name of PROPERTY_FIELDS) values[name] = fields[name];
      values.message_id = messageId;
      properties = encodeTyped(amqpMessage.properties(values).described());
    }
    const groupId = fields.group_id;
    const annotationValues = (fields.message_annotations ?? {}) as Record<string, unknown>;
    return new StoredMessage(
      Buffer.isBuffer(messageId) ? messageId.toString("hex") : String(messageId),
      typeof groupId === "string" ? groupId : undefined,
      toMs(annotationValues["x-opt-scheduled-enqueue-time"]),
      { durable: fields.durable, priority: fields.priority, ttl: fields.ttl, first_acquirer: fields.first_acquirer },
      annotations,
      properties ?? Buffer.alloc(0),
      applicationProperties,
      Buffer.concat(body),
    );
  }

  /** Adds or replaces application properties (dead-letter reason, properties to modify). */
  updateApplicationProperties(updates: Readonly<Record<string, unknown>>): void {
    const entries = new Map<string, Typed>();
    if (this.applicationProperties) {
      const section = readSections(this.applicationProperties)[0];
      if (section) for (const [key, value] of mapEntries(section.value)) entries.set(key, value);
    }
    for (const [key, value] of Object.entries(updates)) {
      if (value !== undefined) entries.set(key, amqpTypes.wrap(value));
    }
    this.applicationProperties = encodeTyped(
      amqpTypes.described(amqpTypes.wrap_ulong(0x74), amqpTypes.wrap_map(Object.fromEntries(entries))),
    );
  }

  /** The bytes of this message as delivered, with the broker's header and annotations. */
  encode(delivery: DeliveryAnnotations): Buffer {
    const header = encodeTyped(amqpMessage.header({ ...this.header, delivery_count: delivery.deliveryCount }).described());
    const annotations: Record<string, Typed> = {};
    for (const [key, value] of this.annotations) annotations[key] = value;
    annotations["x-opt-sequence-number"] = amqpTypes.wrap_long(delivery.sequenceNumber);
    annotations["x-opt-enqueued-time"] = amqpTypes.wrap_timestamp(delivery.enqueuedAtMs);
    if (delivery.lockedUntilMs !== undefined) {
      annotations["x-opt-locked-until"] = amqpTypes.wrap_timestamp(delivery.lockedUntilMs);
    }
    if (delivery.state !== 0) annotations["x-opt-message-state"] = amqpTypes.wrap_int(delivery.state);
    const annotationBytes = encodeTyped(
      amqpTypes.described(amqpTypes.wrap_ulong(0x72), amqpTypes.wrap_symbolic_map(annotations)),
    );
    const parts = [header, annotationBytes, this.properties];
    if (this.applicationProperties) parts.push(this.applicationProperties);
    parts.push(this.body);
    return Buffer.concat(parts);
  }
}
