import { type ServiceBusMessage, type ServiceBusMessageBatch, type ServiceBusSender } from "@azure/service-bus";
import { createHash } from "node:crypto";
import { type AuditEvent, chainIdOf } from "../../core/audit/AuditEvent.js";
import { type AuditPublisher, type PublishOptions } from "../../core/audit/AuditPublisher.js";
import { PACKED_AUDIT_FORMAT, packedAuditBody, packedAuditBodyBytes } from "../../core/audit/auditMessageBody.js";

/**
 * The message for one event: id = event id (so broker-side duplicate detection can work), session = chain.
 * The body is the event's JSON as bytes: the same data section the SDK writes for the object itself
 * (it JSON-encodes an object body), and its size is known before sending.
 */
export function toAuditMessage(event: AuditEvent): ServiceBusMessage {
  return singleMessage(encode(event));
}

/**
 * The message for several events of ONE chain, packed (core/audit/auditMessageBody.ts): one send, one
 * delivery and one settlement for them all. Its id is a digest of the events' ids in order, so the
 * broker's duplicate detection drops only a resend of the very same events, never a message that also
 * carries another event.
 */
export function toPackedAuditMessage(events: readonly AuditEvent[]): ServiceBusMessage {
  return packedMessage(events.map(encode));
}

/** An event ready to send: its JSON text and that text's UTF-8 size. */
interface EncodedEvent {
  readonly event: AuditEvent;
  readonly chain: string;
  readonly json: string;
  readonly bytes: number;
}

function encode(event: AuditEvent): EncodedEvent {
  const json = JSON.stringify(event);
  return { event, chain: chainIdOf(event), json, bytes: Buffer.byteLength(json, "utf8") };
}

function singleMessage(encoded: EncodedEvent): ServiceBusMessage {
  return {
    messageId: encoded.event.eventId,
    sessionId: encoded.chain,
    body: Buffer.from(encoded.json, "utf8"),
    contentType: "application/json",
    subject: encoded.event.type,
  };
}

function packedMessage(events: readonly EncodedEvent[]): ServiceBusMessage {
  const [first] = events;
  if (first === undefined) throw new RangeError("a packed audit message needs at least one event");
  if (events.length === 1) return singleMessage(first);
  if (events.some((encoded) => encoded.chain !== first.chain)) throw new RangeError("a packed audit message holds events of one chain (one session) only");
  const ids = createHash("sha256");
  for (const encoded of events) ids.update(encoded.event.eventId).update("\n");
  return {
    messageId: `pack-${ids.digest("hex")}`,
    sessionId: first.chain,
    body: Buffer.from(packedAuditBody(events.map((encoded) => encoded.json)), "utf8"),
    contentType: "application/json",
    subject: PACKED_AUDIT_FORMAT,
  };
}

/** Service Bus Standard's largest message (256 KB): a Premium namespace allows more, no event needs it. */
const MAX_MESSAGE_BYTES = 262_144;
/**
 * A packed message is closed at 64 KB: Standard bills each 64 KB of a message as one operation, so a
 * larger one would save no money, and some 60 events per message already cut the queue's work sixtyfold.
 * (A single event larger than this still goes, alone, up to the message limit.)
 */
const MAX_PACKED_MESSAGE_BYTES = 65_536;
/** Headroom over a message's body for its id, session, content type and subject (at most ~200 bytes) and its AMQP encoding (a few dozen). */
const ENCODING_MARGIN_BYTES = 1_024;

/** One caller's events, waiting for the send in flight on its chain. */
interface QueuedPublish {
  readonly events: readonly EncodedEvent[];
  resolve(): void;
  reject(error: unknown): void;
}

/** A message to send and whose events it carries (how many of each caller's). */
interface Outgoing {
  readonly message: ServiceBusMessage;
  readonly callers: ReadonlyMap<QueuedPublish, number>;
}

/**
 * Publishes audit events to the audit queue (sessions on). Resolves only once the broker accepted
 * every event's message; rejects otherwise so the caller can fail closed or use the outbox. The broker
 * keeps each session (chain) in order. The sender is owned by this publisher and closed with it.
 *
 * Concurrent publishes to one chain are coalesced (group commit): up to `sendsInFlight` sends run
 * at once per chain (so a request rarely waits for another's acknowledgement), and events that arrive
 * while they are all busy queue; the next send takes them all. The events a send carries go PACKED:
 * one message per chain for as many as fit in 64 KB (`toPackedAuditMessage`; more go in further
 * messages), so the queue holds, delivers and settles one message where it held one per event; a lone
 * event goes as a one-event message, as before packing. Sends on one link reach the broker in the order
 * they were made, so a chain's events keep their publish order. A message never mixes chains: each
 * message has one session.
 */
export class ServiceBusAuditPublisher implements AuditPublisher {
  private readonly lanes = new Map<string, { readonly queue: QueuedPublish[]; sending: number }>();
  private readonly sendsInFlight: number;
  /** The link's largest message, learnt from the first batch; until then every send is a batch. */
  private maxMessageBytes: number | undefined;

  constructor(
    private readonly sender: ServiceBusSender,
    private readonly onClose: () => Promise<void> = async () => undefined,
    options: { readonly sendsInFlight?: number } = {},
  ) {
    this.sendsInFlight = Math.max(1, options.sendsInFlight ?? 2);
  }

  async publish(events: readonly AuditEvent[], options: PublishOptions = {}): Promise<void> {
    const first = events[0];
    if (first === undefined) return;
    const chain = chainIdOf(first);
    const encoded = events.map(encode);
    // A caller that can abort, or events of several chains, cannot share a send with others.
    if (options.abortSignal !== undefined || encoded.some((event) => event.chain !== chain)) {
      await this.send([{ events: encoded, resolve: () => undefined, reject: () => undefined }], options.abortSignal, true);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      let lane = this.lanes.get(chain);
      if (lane === undefined) {
        lane = { queue: [], sending: 0 };
        this.lanes.set(chain, lane);
      }
      lane.queue.push({ events: encoded, resolve, reject });
      if (lane.sending < this.sendsInFlight) void this.drain(chain);
    });
  }

  async close(): Promise<void> {
    await this.sender.close();
    await this.onClose();
  }

  /** One sending loop of a chain: takes whatever queued, sends it, until nothing is left. */
  private async drain(chain: string): Promise<void> {
    const lane = this.lanes.get(chain);
    if (lane === undefined) return;
    lane.sending += 1;
    while (lane.queue.length > 0) await this.send(lane.queue.splice(0, lane.queue.length), undefined, false);
    lane.sending -= 1;
    if (lane.sending === 0 && lane.queue.length === 0) this.lanes.delete(chain);
  }

  /**
   * The largest body a message may have here, and the size at which a packed message is closed (before
   * the first batch tells the link's limit: Standard's; the batch's exact check has the last word).
   */
  private limits(): { readonly message: number; readonly packed: number } {
    const link = Math.min(this.maxMessageBytes ?? MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
    return { message: link - ENCODING_MARGIN_BYTES, packed: Math.min(link, MAX_PACKED_MESSAGE_BYTES) - ENCODING_MARGIN_BYTES };
  }

  /**
   * The callers' events as messages: per chain, in order, as many events per message as fit under
   * `limits.packed` (an event larger than that goes alone). A caller with an event too large for any
   * message (`limits.message`) is failed and none of its events is sent.
   */
  private pack(callers: readonly QueuedPublish[], limits: { readonly message: number; readonly packed: number }, fail: (caller: QueuedPublish, error: unknown) => void): Outgoing[] {
    const outgoing: Outgoing[] = [];
    const open = new Map<string, { events: EncodedEvent[]; callers: Map<QueuedPublish, number>; bytes: number }>();
    const close = (chain: string): void => {
      const pack = open.get(chain);
      if (pack === undefined) return;
      open.delete(chain);
      outgoing.push({ message: packedMessage(pack.events), callers: pack.callers });
    };
    for (const caller of callers) {
      const tooLarge = caller.events.find((encoded) => encoded.bytes > limits.message);
      if (tooLarge !== undefined) {
        fail(caller, new RangeError(`Audit event ${tooLarge.event.eventId} is too large for one Service Bus message`));
        continue;
      }
      for (const encoded of caller.events) {
        let pack = open.get(encoded.chain);
        if (pack !== undefined && packedAuditBodyBytes(pack.bytes + encoded.bytes, pack.events.length + 1) > limits.packed) {
          close(encoded.chain);
          pack = undefined;
        }
        if (pack === undefined) {
          pack = { events: [], callers: new Map(), bytes: 0 };
          open.set(encoded.chain, pack);
        }
        pack.events.push(encoded);
        pack.bytes += encoded.bytes;
        pack.callers.set(caller, (pack.callers.get(caller) ?? 0) + 1);
      }
    }
    for (const chain of [...open.keys()]) close(chain);
    return outgoing;
  }

  /**
   * Sends the callers' events (packed per chain) in as few transfers as fit and settles each caller:
   * resolved when all its events were accepted, rejected when any of them was not (its message failed,
   * or an event is too large for a message). One caller's failure never fails another's sent events
   * unless they shared the failed message. With `throwing` (a caller publishing on its own), the first
   * failure is thrown instead.
   */
  private async send(callers: readonly QueuedPublish[], abortSignal: AbortSignal | undefined, throwing: boolean): Promise<void> {
    const unsent = new Map<QueuedPublish, number>(callers.map((caller) => [caller, caller.events.length]));
    const failures = new Map<QueuedPublish, unknown>();
    const fail = (caller: QueuedPublish, error: unknown): void => {
      if (throwing) throw error;
      if (!failures.has(caller)) failures.set(caller, error);
    };
    const sent = (outgoing: Outgoing): void => {
      for (const [caller, count] of outgoing.callers) unsent.set(caller, (unsent.get(caller) ?? 0) - count);
    };
    const outgoing = this.pack(callers, this.limits(), fail);
    const [only] = outgoing;
    if (outgoing.length === 1 && only !== undefined && this.maxMessageBytes !== undefined) {
      // One message, sized to fit: sent as itself. A batch of one encodes it, an empty batch envelope
      // (for the size check) and the envelope around it: three encodes where one does.
      try {
        await this.sender.sendMessages(only.message, { abortSignal });
        sent(only);
      } catch (error) {
        for (const caller of only.callers.keys()) fail(caller, error);
      }
    } else {
      await this.sendBatched(outgoing, abortSignal, sent, fail, (caller) => (unsent.get(caller) ?? 0) > 0);
    }
    for (const caller of callers) {
      if (failures.has(caller)) caller.reject(failures.get(caller));
      else if ((unsent.get(caller) ?? 0) > 0) caller.reject(new Error("audit events were not all sent"));
      else caller.resolve();
    }
  }

  /** Sends the messages in as few batches as fit (learning the link's largest message from the first batch). */
  private async sendBatched(
    outgoing: readonly Outgoing[],
    abortSignal: AbortSignal | undefined,
    sent: (outgoing: Outgoing) => void,
    fail: (caller: QueuedPublish, error: unknown) => void,
    stillUnsent: (caller: QueuedPublish) => boolean,
  ): Promise<void> {
    let batch: ServiceBusMessageBatch | null = null;
    let members: Outgoing[] = [];
    const sendBatch = async (): Promise<void> => {
      const sending = batch;
      const included = members;
      batch = null;
      members = [];
      if (sending === null || sending.count === 0) return;
      try {
        await this.sender.sendMessages(sending, { abortSignal });
        for (const member of included) sent(member);
      } catch (error) {
        for (const member of included) for (const caller of member.callers.keys()) fail(caller, error);
      }
    };
    /** Adds a message, sending the full batch first if it does not fit; false when it fits in no batch. */
    const add = async (message: ServiceBusMessage): Promise<boolean> => {
      batch ??= await this.sender.createMessageBatch({ abortSignal });
      this.maxMessageBytes = batch.maxSizeInBytes;
      if (batch.tryAddMessage(message)) return true;
      if (batch.count === 0) return false;
      await sendBatch();
      batch = await this.sender.createMessageBatch({ abortSignal });
      return batch.tryAddMessage(message);
    };
    try {
      for (const member of outgoing) {
        if (await add(member.message)) members.push(member);
        else for (const caller of member.callers.keys()) fail(caller, new RangeError(`Audit message ${String(member.message.messageId)} is too large for one Service Bus message`));
      }
      await sendBatch();
    } catch (error) {
      for (const member of outgoing) for (const caller of member.callers.keys()) if (stillUnsent(caller)) fail(caller, error);
    }
  }
}
