import { randomUUID } from "node:crypto";
import { type AddressInfo, type Server, type Socket } from "node:net";
import rhea, {
  type Connection,
  type Container,
  type Delivery,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
  type Session,
} from "rhea";
import { amqpMessage, amqpTypes, installRawCapture, rawBytesOf } from "./amqp.js";
import { handleCbsRequest } from "./cbs.js";
import { lockTokenFromDeliveryTag, lockTokenToDeliveryTag, newLockToken } from "./lockToken.js";
import { handleManagementRequest, type ManagementResponse } from "./management.js";
import { BATCH_MESSAGE_FORMAT, splitBatch, StoredMessage } from "./messageCodec.js";
import {
  type Consumer,
  QueueEntity,
  type QueueMessage,
  type QueueSession,
  type ReceiveMode,
  type Settlement,
} from "./queue.js";
import { type SasKey } from "./sas.js";
import { type CoalescedWrites, coalesceWrites } from "./coalesceWrites.js";
import { OperationTally } from "../operationTally.js";

/**
 * The AMQP side of the emulator: accepts connections (SASL ANONYMOUS, then $cbs tokens), routes
 * link attaches to queues, $cbs and $management, and turns transfers and dispositions into queue
 * operations. See shared/notes/service-bus-amqp.md for what the SDK expects on the wire.
 */

export interface BrokerQueueDefinition {
  readonly name: string;
  readonly requiresSession?: boolean;
  readonly lockDurationInMs?: number;
  readonly maxDeliveryCount?: number;
}

export interface BrokerOptions {
  readonly queues: readonly BrokerQueueDefinition[];
  readonly host: string;
  readonly port: number;
  readonly sasKey: SasKey;
}

const SESSION_FILTER = "com.microsoft:session-filter";
const MAX_MESSAGE_SIZE = 262_144;
/** Service Bus caps how long it holds an accept-next-session attach open. */
const MAX_SESSION_WAIT_IN_MS = 65_000;
const SWEEP_INTERVAL_IN_MS = 100;
const DOTNET_EPOCH_TICKS = 621_355_968_000_000_000n;

interface ConnectionState {
  /** Entity paths (lower case, "" for the namespace) this connection holds a token for, with expiry. */
  readonly authorizations: Map<string, number>;
  /** Reply links by link name and target address, for $cbs and $management responses. */
  readonly replyLinks: Map<string, Sender>;
  readonly consumers: Set<LinkConsumer>;
}

/** rhea internals the broker needs; the typings do not describe them. */
interface LinkInternals {
  local: { attach: Record<string, unknown> };
  state: { local_open: boolean; open_requests: number };
  delivery_count: number;
  credit: number;
  _draining: boolean;
  _drained: boolean;
  _get_drain: () => boolean;
}

function internals(link: Sender | Receiver): LinkInternals {
  return link as unknown as LinkInternals;
}

interface Terminus {
  address?: string;
  filter?: Record<string, unknown> | null;
}

function addressOf(terminus: unknown): string | undefined {
  const address = (terminus as Terminus | undefined)?.address;
  return typeof address === "string" ? address : undefined;
}

/** "sb://host/queue/x" or "/queue/x" or "queue/x" -> "queue/x" (lower case). */
export function entityPathOf(address: string): string {
  let path = address;
  const scheme = path.indexOf("://");
  if (scheme >= 0) {
    const slash = path.indexOf("/", scheme + 3);
    path = slash >= 0 ? path.slice(slash + 1) : "";
  }
  return path.replace(/^\/+|\/+$/g, "").toLowerCase();
}

function ticksOf(ms: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(Math.trunc(ms)) * 10_000n + DOTNET_EPOCH_TICKS);
  return bytes;
}

class LinkConsumer implements Consumer {
  session: QueueSession | undefined;
  closed = false;
  private sent = 0;

  constructor(
    readonly sender: Sender,
    readonly queue: QueueEntity,
    readonly mode: ReceiveMode,
    private readonly tally: OperationTally,
  ) {}

  capacity(): number {
    if (this.closed || !this.sender.is_open()) return 0;
    const link = internals(this.sender);
    // Credit drops only when rhea writes a transfer; count what was handed over but not yet written.
    // (A drain advances delivery_count past what was sent.)
    if (link.delivery_count > this.sent) this.sent = link.delivery_count;
    const pending = this.sent - link.delivery_count;
    const outgoing = (this.sender.session as unknown as { outgoing: { available(): number } }).outgoing.available();
    return Math.min(link.credit - pending, outgoing);
  }

  deliver(message: QueueMessage, lockToken: string | undefined): void {
    const bytes = message.stored.encode({
      sequenceNumber: message.sequenceNumber,
      enqueuedAtMs: message.enqueuedAtMs,
      lockedUntilMs: message.lock?.lockedUntilMs,
      state: message.stateCode,
      deliveryCount: message.deliveryCount,
    });
    this.sent++;
    this.tally.count("receive");
    this.sender.send(bytes, lockTokenToDeliveryTag(lockToken ?? newLockToken()), 0);
  }

  sessionLost(): void {
    this.detach("com.microsoft:session-lock-lost", "The session lock expired: accept the session again.");
  }

  detach(condition: string, description: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.removeConsumer(this);
    this.sender.close({ condition, description });
  }
}

export class Broker {
  private readonly container: Container;
  private readonly queues = new Map<string, QueueEntity>();
  private readonly states = new WeakMap<Connection, ConnectionState>();
  private readonly connections = new Set<Connection>();
  private readonly sockets = new Set<Socket>();
  private readonly writers = new WeakMap<Socket, CoalescedWrites>();
  /** Operations served, by kind: what a request costs on the real service (see bench/deployed.ts). */
  readonly tally = new OperationTally();
  private server: Server | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BrokerOptions) {
    installRawCapture();
    const now = (): number => Date.now();
    for (const definition of options.queues) {
      const key = definition.name.toLowerCase();
      if (this.queues.has(key)) throw new Error(`Queue '${definition.name}' is defined twice.`);
      this.queues.set(
        key,
        new QueueEntity(
          {
            name: definition.name,
            requiresSession: definition.requiresSession ?? false,
            lockDurationInMs: definition.lockDurationInMs ?? 30_000,
            maxDeliveryCount: definition.maxDeliveryCount ?? 10,
          },
          now,
        ),
      );
    }
    this.container = rhea.create_container({
      id: `palisade-servicebus-${randomUUID()}`,
      autoaccept: false,
      treat_modified_as_released: false,
      reconnect: false,
    });
    this.container.on("connection_open", (context: EventContext) => this.onConnectionOpen(context.connection));
    this.container.on("sender_open", (context: EventContext) => this.onSenderOpen(context));
    this.container.on("receiver_open", (context: EventContext) => this.onReceiverOpen(context));
    this.container.on("sender_close", (context: EventContext) => this.onLinkClosed(context.connection, context.sender));
    this.container.on("receiver_close", () => undefined);
    this.container.on("session_close", (context: EventContext) => this.onSessionClosed(context.connection, context.session));
    this.container.on("connection_close", (context: EventContext) => this.onConnectionGone(context.connection));
    this.container.on("disconnected", (context: EventContext) => this.onConnectionGone(context.connection));
    // Errors a client causes (a bad frame, a link it detached with an error) end its connection, not the emulator.
    this.container.on("error", () => undefined);
    this.container.on("connection_error", () => undefined);
    this.container.on("session_error", () => undefined);
    this.container.on("sender_error", () => undefined);
    this.container.on("receiver_error", () => undefined);
  }

  async listen(): Promise<number> {
    const server = this.container.listen({ host: this.options.host, port: this.options.port });
    this.server = server;
    server.on("connection", (socket: Socket) => {
      this.writers.set(socket, coalesceWrites(socket));
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      if (server.listening) {
        resolve();
        return;
      }
      server.once("listening", () => resolve());
      server.once("error", reject);
    });
    this.sweepTimer = setInterval(() => {
      for (const queue of this.queues.values()) queue.sweep();
    }, SWEEP_INTERVAL_IN_MS);
    this.sweepTimer.unref();
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const queue of this.queues.values()) queue.cancelWaits();
    const server = this.server;
    this.server = undefined;
    for (const connection of this.connections) {
      // abort_socket ends the socket and clears rhea's heartbeat timers, so nothing keeps the process alive.
      const internalsOfConnection = connection as unknown as { socket?: Socket; abort_socket?(socket: Socket): void };
      if (internalsOfConnection.socket && internalsOfConnection.abort_socket) {
        internalsOfConnection.abort_socket(internalsOfConnection.socket);
      }
    }
    this.connections.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  queueDepth(name: string): number {
    const queue = this.resolveEntity(name);
    if (!queue) throw new Error(`No queue '${name}' in this emulator.`);
    return queue.depth;
  }

  private stateOf(connection: Connection): ConnectionState {
    let state = this.states.get(connection);
    if (!state) {
      state = { authorizations: new Map(), replyLinks: new Map(), consumers: new Set() };
      this.states.set(connection, state);
      this.connections.add(connection);
    }
    return state;
  }

  private onConnectionOpen(connection: Connection): void {
    this.stateOf(connection);
  }

  private resolveEntity(address: string): QueueEntity | undefined {
    const parts = entityPathOf(address).split("/");
    const queue = parts[0] === undefined ? undefined : this.queues.get(parts[0]);
    if (parts.length === 1) return queue;
    if (parts.length === 2 && parts[1] === "$deadletterqueue") return queue?.deadLetterQueue;
    return undefined;
  }

  private isAuthorized(connection: Connection, entityPath: string): boolean {
    const now = Date.now();
    for (const [path, expiresAtMs] of this.stateOf(connection).authorizations) {
      if (expiresAtMs <= now) continue;
      if (path === "" || entityPath === path || entityPath.startsWith(`${path}/`)) return true;
    }
    return false;
  }

  /**
   * Refuses an attach as Service Bus does: an attach without source/target, then a detach with the
   * error, each in a write of its own. The SDK reports the detach's error only when it read the attach
   * first (a session receiver then closes the link and gets the error as the answer); with both in
   * one read it reports a generic "session may be locked" instead.
   */
  private refuse(link: Sender | Receiver, condition: string, description: string): void {
    const socket = (link.connection as unknown as { socket?: Socket }).socket;
    if (socket) this.writers.get(socket)?.writeSeparatelyThisTurn();
    link.close({ condition, description });
  }

  private echoSettleModes(link: Sender | Receiver): void {
    const local = internals(link).local.attach;
    local.snd_settle_mode = link.snd_settle_mode;
    local.rcv_settle_mode = link.rcv_settle_mode;
  }

  /** Checks the entity and the connection's token; refuses the attach and returns undefined when either fails. */
  private admit(
    link: Sender | Receiver,
    connection: Connection,
    address: string | undefined,
    linkAddress = address,
  ): QueueEntity | undefined {
    const entity = address === undefined ? undefined : this.resolveEntity(address);
    if (!entity || address === undefined) {
      this.refuse(
        link,
        "amqp:not-found",
        `The messaging entity '${address ?? ""}' could not be found. Define it in the emulator's queues.`,
      );
      return undefined;
    }
    if (!this.isAuthorized(connection, entityPathOf(linkAddress ?? address))) {
      this.refuse(link, "amqp:unauthorized-access", "Unauthorized access: put a valid token on $cbs for this entity first.");
      return undefined;
    }
    return entity;
  }

  /** The client attached a receiver: we send, to a consumer or as a reply link. */
  private onSenderOpen(context: EventContext): void {
    const sender = context.sender;
    if (!sender) return;
    const connection = context.connection;
    const state = this.stateOf(connection);
    const address = addressOf(sender.source);
    this.echoSettleModes(sender);
    if (address === "$cbs" || address?.toLowerCase().endsWith("/$management")) {
      if (address !== "$cbs") {
        const entityAddress = address.slice(0, -"/$management".length);
        if (!this.admit(sender, connection, entityAddress, address)) return;
      }
      sender.set_source({ address });
      const target = addressOf(sender.target);
      if (target !== undefined) sender.set_target({ address: target });
      state.replyLinks.set(sender.name, sender);
      if (target !== undefined) state.replyLinks.set(target, sender);
      return;
    }
    const queue = this.admit(sender, connection, address);
    if (!queue || address === undefined) return;
    const mode: ReceiveMode = sender.snd_settle_mode === 1 ? "receiveAndDelete" : "peekLock";
    const consumer = new LinkConsumer(sender, queue, mode, this.tally);
    const filter = (sender.source as Terminus | undefined)?.filter ?? undefined;
    const wantsSession = filter !== undefined && filter !== null && Object.prototype.hasOwnProperty.call(filter, SESSION_FILTER);
    if (queue.settings.requiresSession !== wantsSession) {
      this.refuse(
        sender,
        "amqp:not-allowed",
        queue.settings.requiresSession
          ? `The queue '${queue.settings.name}' requires sessions: receive with acceptSession or acceptNextSession.`
          : `The queue '${queue.settings.name}' does not require sessions: receive with createReceiver.`,
      );
      return;
    }
    this.watchDispositions(sender, consumer);
    sender.on("sendable", () => queue.pumpFor(consumer));
    sender.on("sender_draining", () => {
      queue.pumpFor(consumer);
      sender.set_drained(true);
    });
    // Answer a drain even when the credit is already spent: the SDK waits for the drain flag.
    const link = internals(sender);
    link._get_drain = function (this: LinkInternals): boolean {
      if (!this._draining || !this._drained) return false;
      this.delivery_count += this.credit;
      this.credit = 0;
      return true;
    };

    if (!wantsSession) {
      sender.set_source({ address });
      queue.addConsumer(consumer);
      state.consumers.add(consumer);
      return;
    }
    const requested = filter[SESSION_FILTER];
    if (typeof requested === "string") {
      const session = queue.acquireSession(requested, consumer);
      if (!session) {
        this.refuse(sender, "com.microsoft:session-cannot-be-locked", `The session '${requested}' is locked by another receiver.`);
        return;
      }
      this.openSessionLink(sender, address, session);
      state.consumers.add(consumer);
      return;
    }
    const next = queue.acquireNextSession(consumer);
    if (next) {
      this.openSessionLink(sender, address, next);
      state.consumers.add(consumer);
      return;
    }
    // No session free now: hold the attach, as Service Bus does, until one is or the client's timeout.
    const local = internals(sender).state;
    local.local_open = false;
    local.open_requests = 0;
    const timeout = Number((sender.properties as Record<string, unknown> | undefined)?.["com.microsoft:timeout"]);
    const waitInMs = Number.isFinite(timeout) && timeout > 0 ? Math.min(timeout, MAX_SESSION_WAIT_IN_MS) : MAX_SESSION_WAIT_IN_MS;
    state.consumers.add(consumer);
    queue.waitForSession({
      consumer,
      deadlineMs: Date.now() + waitInMs,
      onSession: (session) => {
        sender.open();
        this.openSessionLink(sender, address, session);
        queue.pumpFor(consumer);
      },
      onTimeout: () => {
        consumer.closed = true;
        state.consumers.delete(consumer);
        sender.open();
        this.refuse(sender, "com.microsoft:timeout", "No session became available within the operation timeout.");
      },
    });
  }

  private openSessionLink(sender: Sender, address: string, session: QueueSession): void {
    sender.set_source({ address, filter: { [SESSION_FILTER]: session.id } });
    internals(sender).local.attach.properties = {
      "com.microsoft:locked-until-utc": amqpTypes.wrap_long(ticksOf(session.lockedUntilMs)),
    };
  }

  private watchDispositions(sender: Sender, consumer: LinkConsumer): void {
    const settle = (delivery: Delivery | undefined, settlement: Settlement, echo: object): void => {
      if (!delivery) return;
      this.tally.count(`settle.${settlement.kind}`);
      const token = lockTokenFromDeliveryTag(delivery.tag);
      const result = token === undefined ? "lockLost" : consumer.queue.settle(token, settlement);
      const state =
        result === "ok"
          ? echo
          : amqpMessage
              .rejected({
                error: {
                  condition: "com.microsoft:message-lock-lost",
                  description: "The lock supplied is invalid: it expired, or the message was already settled.",
                },
              })
              .described();
      delivery.update(true, state);
      // rhea frees a delivery only once both ends settled; the client will not settle it again.
      (delivery as unknown as { remote_settled: boolean }).remote_settled = true;
    };
    sender.on("accepted", (context: EventContext) =>
      settle(context.delivery, { kind: "complete" }, amqpMessage.accepted().described()),
    );
    sender.on("released", (context: EventContext) =>
      settle(context.delivery, { kind: "abandon" }, amqpMessage.released().described()),
    );
    sender.on("modified", (context: EventContext) => {
      const outcome = (context.delivery?.remote_state ?? {}) as {
        undeliverable_here?: boolean;
        message_annotations?: Record<string, unknown>;
      };
      const propertiesToModify = outcome.message_annotations ?? undefined;
      const settlement: Settlement = outcome.undeliverable_here
        ? { kind: "defer", propertiesToModify }
        : { kind: "abandon", propertiesToModify };
      settle(
        context.delivery,
        settlement,
        amqpMessage.modified({ undeliverable_here: outcome.undeliverable_here ?? false }).described(),
      );
    });
    sender.on("rejected", (context: EventContext) => {
      const error = ((context.delivery?.remote_state ?? {}) as { error?: { condition?: string; info?: Record<string, unknown> } })
        .error;
      const info = error?.info ?? {};
      const reason = info.DeadLetterReason;
      const description = info.DeadLetterErrorDescription;
      const propertiesToModify: Record<string, unknown> = { ...info };
      delete propertiesToModify.DeadLetterReason;
      delete propertiesToModify.DeadLetterErrorDescription;
      settle(
        context.delivery,
        {
          kind: "deadLetter",
          reason: typeof reason === "string" ? reason : undefined,
          description: typeof description === "string" ? description : undefined,
          propertiesToModify,
        },
        // Echoed without the error: the SDK treats an error in the broker's outcome as a failed settlement.
        amqpMessage.rejected({}).described(),
      );
    });
  }

  /** The client attached a sender: we receive messages, $cbs tokens or $management requests. */
  private onReceiverOpen(context: EventContext): void {
    const receiver = context.receiver;
    if (!receiver) return;
    const connection = context.connection;
    const address = addressOf(receiver.target);
    this.echoSettleModes(receiver);
    if (address === "$cbs") {
      receiver.set_target({ address });
      receiver.on("message", (messageContext: EventContext) => {
        this.accept(messageContext.delivery);
        const request = messageContext.message;
        if (!request) return;
        this.tally.count("cbs");
        const response = handleCbsRequest(request, this.options.sasKey, Date.now());
        if (response.authorizedPath !== undefined && response.expiresAtMs !== undefined) {
          this.stateOf(connection).authorizations.set(response.authorizedPath, response.expiresAtMs);
        }
        this.reply(connection, request, {
          statusCode: response.statusCode,
          description: response.description,
          errorCondition: response.errorCondition,
        });
      });
      return;
    }
    if (address?.toLowerCase().endsWith("/$management")) {
      const entityAddress = address.slice(0, -"/$management".length);
      const queue = this.admit(receiver, connection, entityAddress, address);
      if (!queue) return;
      receiver.set_target({ address });
      receiver.on("message", (messageContext: EventContext) => {
        this.accept(messageContext.delivery);
        const request = messageContext.message;
        if (!request) return;
        const properties = (request.application_properties ?? {}) as Record<string, unknown>;
        const body = (request.body !== null && typeof request.body === "object" ? request.body : {}) as Record<string, unknown>;
        let response: ManagementResponse;
        this.tally.count(`management.${typeof properties.operation === "string" ? properties.operation.replace(/^com\.microsoft:/, "") : "unknown"}`);
        try {
          response = handleManagementRequest(
            queue,
            typeof properties.operation === "string" ? properties.operation : "",
            body,
            randomUUID,
          );
        } catch {
          response = { statusCode: 500, description: "The emulator failed to handle the request.", errorCondition: "amqp:internal-error" };
        }
        this.reply(connection, request, response);
      });
      return;
    }
    const queue = this.admit(receiver, connection, address);
    if (!queue || address === undefined) return;
    receiver.set_target({ address });
    internals(receiver).local.attach.max_message_size = MAX_MESSAGE_SIZE;
    receiver.on("message", (messageContext: EventContext) => this.onTransfer(queue, messageContext));
  }

  private accept(delivery: Delivery | undefined): void {
    delivery?.update(true, amqpMessage.accepted().described());
  }

  private onTransfer(queue: QueueEntity, context: EventContext): void {
    const delivery = context.delivery;
    if (!delivery) return;
    const incoming: StoredMessage[] = [];
    this.tally.count("send");
    try {
      if (delivery.format === BATCH_MESSAGE_FORMAT) {
        const payload = context.message as unknown;
        if (!Buffer.isBuffer(payload)) throw new Error("batch without payload");
        for (const bytes of splitBatch(payload)) {
          incoming.push(StoredMessage.fromWire(amqpMessage.decode(bytes), bytes, randomUUID));
        }
      } else if (context.message) {
        incoming.push(StoredMessage.fromWire(context.message, rawBytesOf(context.message), randomUUID));
      }
    } catch {
      delivery.update(true, amqpMessage.rejected({ error: { condition: "amqp:decode-error", description: "The message could not be decoded." } }).described());
      return;
    }
    for (const message of incoming) {
      const refusal = queue.refusal(message);
      if (refusal) {
        delivery.update(true, amqpMessage.rejected({ error: { condition: "amqp:not-allowed", description: refusal } }).described());
        return;
      }
    }
    for (const message of incoming) queue.enqueue(message);
    this.accept(delivery);
  }

  private reply(connection: Connection, request: Message, response: ManagementResponse): void {
    const replyTo = (request as { reply_to?: unknown }).reply_to;
    if (typeof replyTo !== "string") return;
    const link = this.stateOf(connection).replyLinks.get(replyTo);
    if (!link) return;
    const applicationProperties: Record<string, unknown> = {
      statusCode: response.statusCode,
      "status-code": response.statusCode,
      statusDescription: response.description,
      "status-description": response.description,
    };
    if (response.errorCondition) {
      applicationProperties.errorCondition = response.errorCondition;
      applicationProperties["error-condition"] = response.errorCondition;
    }
    const message: Record<string, unknown> = {
      to: replyTo,
      correlation_id: (request as { message_id?: unknown }).message_id,
      application_properties: applicationProperties,
    };
    if (response.body !== undefined) message.body = response.body;
    link.send(message as unknown as Message);
  }

  private onLinkClosed(connection: Connection, sender: Sender | undefined): void {
    if (!sender) return;
    const state = this.stateOf(connection);
    for (const consumer of state.consumers) {
      if (consumer.sender === sender) this.dropConsumer(state, consumer);
    }
    for (const [key, link] of state.replyLinks) if (link === sender) state.replyLinks.delete(key);
  }

  private onSessionClosed(connection: Connection, session: Session | undefined): void {
    if (!session) return;
    const state = this.stateOf(connection);
    for (const consumer of state.consumers) {
      if (consumer.sender.session === session) this.dropConsumer(state, consumer);
    }
  }

  private onConnectionGone(connection: Connection): void {
    const state = this.states.get(connection);
    if (state) {
      for (const consumer of state.consumers) this.dropConsumer(state, consumer);
      state.replyLinks.clear();
    }
    this.connections.delete(connection);
  }

  private dropConsumer(state: ConnectionState, consumer: LinkConsumer): void {
    consumer.closed = true;
    consumer.queue.removeConsumer(consumer);
    state.consumers.delete(consumer);
  }
}
