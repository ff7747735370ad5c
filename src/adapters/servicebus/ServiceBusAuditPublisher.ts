import { type ServiceBusMessage, type ServiceBusMessageBatch, type ServiceBusSender } from "@azure/service-bus";
import { type AuditEvent, chainIdOf } from "../../core/audit/AuditEvent.js";
import { type AuditPublisher, type PublishOptions } from "../../core/audit/AuditPublisher.js";

/**
 * The message for one event: id = event id (so broker-side duplicate detection can work), session = chain.
 * The body is the event's JSON as bytes: the same data section the SDK writes for the object itself
 * (it JSON-encodes an object body), and its size is known before sending (see `fitsOneMessage`).
 */
export function toAuditMessage(event: AuditEvent): ServiceBusMessage {
  return {
    messageId: event.eventId,
    sessionId: chainIdOf(event),
    body: Buffer.from(JSON.stringify(event), "utf8"),
    contentType: "application/json",
    subject: event.type,
  };
}

/** Headroom over a message's body and string properties for its AMQP encoding (sections, descriptors, lengths). */
const ENCODING_MARGIN_BYTES = 1_024;

/** One caller's events, waiting for the send in flight on its chain. */
interface QueuedPublish {
  readonly messages: readonly ServiceBusMessage[];
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Publishes audit events to the audit queue (sessions on): one message per event. Resolves only
 * once the broker accepted every message; rejects otherwise so the caller can fail closed or use
 * the outbox. The broker keeps each session (chain) in order. The sender is owned by this publisher
 * and closed with it.
 *
 * Concurrent publishes to one chain are coalesced (group commit): up to `sendsInFlight` sends run
 * at once per chain (so a request rarely waits for another's acknowledgement), and events that arrive
 * while they are all busy queue; the next send takes them all in as few batches as fit. Under load
 * that is one AMQP transfer for many requests instead of one each. Sends on one link reach the broker
 * in the order they were made, so a chain's events keep their publish order. Batches never mix
 * chains: on a partitioned entity every message of a batch must share its session.
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
    // A caller that can abort, or events of several chains, cannot share a send with others.
    if (options.abortSignal !== undefined || events.some((event) => chainIdOf(event) !== chain)) {
      await this.send([{ messages: events.map(toAuditMessage), resolve: () => undefined, reject: () => undefined }], options.abortSignal, true);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      let lane = this.lanes.get(chain);
      if (lane === undefined) {
        lane = { queue: [], sending: 0 };
        this.lanes.set(chain, lane);
      }
      lane.queue.push({ messages: events.map(toAuditMessage), resolve, reject });
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
   * Sends the callers' messages in as few batches as fit and settles each caller: resolved when all
   * its messages were accepted, rejected when any of them was not (its batch failed, or it is too
   * large for a message). One caller's failure never fails another's sent events. With `throwing`
   * (a caller publishing on its own), the first failure is thrown instead.
   */
  private async send(callers: readonly QueuedPublish[], abortSignal: AbortSignal | undefined, throwing: boolean): Promise<void> {
    const [only] = callers;
    const [single] = only?.messages ?? [];
    if (callers.length === 1 && only?.messages.length === 1 && single !== undefined && this.fitsOneMessage(single)) {
      // One message that surely fits: sent as itself. A batch of one encodes it, an empty batch envelope
      // (for the size check) and the envelope around it: three encodes where one does.
      try {
        await this.sender.sendMessages(single, { abortSignal });
      } catch (error) {
        if (throwing) throw error;
        only.reject(error);
        return;
      }
      only.resolve();
      return;
    }
    const unsent = new Map<QueuedPublish, number>(callers.map((caller) => [caller, caller.messages.length]));
    const failures = new Map<QueuedPublish, unknown>();
    const fail = (caller: QueuedPublish, error: unknown): void => {
      if (throwing) throw error;
      if (!failures.has(caller)) failures.set(caller, error);
    };
    let batch: ServiceBusMessageBatch | null = null;
    let members = new Map<QueuedPublish, number>();
    const sendBatch = async (): Promise<void> => {
      const sending = batch;
      const included = members;
      batch = null;
      members = new Map();
      if (sending === null || sending.count === 0) return;
      try {
        await this.sender.sendMessages(sending, { abortSignal });
        for (const [caller, count] of included) unsent.set(caller, (unsent.get(caller) ?? 0) - count);
      } catch (error) {
        for (const caller of included.keys()) fail(caller, error);
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
      for (const caller of callers) {
        for (const message of caller.messages) {
          if (failures.has(caller)) break;
          if (await add(message)) members.set(caller, (members.get(caller) ?? 0) + 1);
          else fail(caller, new RangeError(`Audit event ${String(message.messageId)} is too large for one Service Bus message`));
        }
      }
      await sendBatch();
    } catch (error) {
      if (throwing) throw error;
      for (const caller of callers) if ((unsent.get(caller) ?? 0) > 0) fail(caller, error);
    }
    for (const caller of callers) {
      if (failures.has(caller)) caller.reject(failures.get(caller));
      else if ((unsent.get(caller) ?? 0) > 0) caller.reject(new Error("audit events were not all sent"));
      else caller.resolve();
    }
  }

  /**
   * Whether a message surely fits the link's largest message: its body's bytes plus its string
   * properties plus a margin for the AMQP encoding (a few dozen bytes in practice). Unsure (no batch
   * seen yet, a body that is not bytes, or close to the limit): false, and the batch path's exact check
   * decides, refusing a message too large for any batch with a RangeError.
   */
  private fitsOneMessage(message: ServiceBusMessage): boolean {
    if (this.maxMessageBytes === undefined || !(message.body instanceof Uint8Array)) return false;
    const strings = [message.messageId, message.sessionId, message.contentType, message.subject].reduce<number>((sum, value) => sum + (typeof value === "string" ? Buffer.byteLength(value) : 64), 0);
    return message.body.byteLength + strings + ENCODING_MARGIN_BYTES <= this.maxMessageBytes;
  }
}
