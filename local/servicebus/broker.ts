import { randomUUID } from "node:crypto";
import { type AddressInfo, type Server, type Socket } from "node:net";
import rhea, { type Connection, type Container, type EventContext, type Receiver, type Sender, type Session } from "rhea";
import { acceptTransfer } from "./acceptTransfer.js";
import { installRawCapture } from "./amqp.js";
import { attachSessionReceiver, SESSION_FILTER } from "./attachSessionReceiver.js";
import { type CoalescedWrites, coalesceSocketWrites } from "../../src/adapters/servicebus/coalesceSocketWrites.js";
import { ConnectionState } from "./connectionState.js";
import { entityPathOf } from "./entityPath.js";
import { LinkConsumer } from "./linkConsumer.js";
import { type LinkInternals, linkInternals } from "./linkInternals.js";
import { QueueEntity, type ReceiveMode } from "./queue.js";
import { type SasKey } from "./sas.js";
import { serveCbsLink } from "./serveCbsLink.js";
import { serveManagementLink } from "./serveManagementLink.js";
import { type Terminus, terminusAddress } from "./terminusAddress.js";
import { watchDispositions } from "./watchDispositions.js";
import { OperationTally } from "../operationTally.js";

/**
 * The AMQP side of the emulator: accepts connections (SASL ANONYMOUS, then $cbs tokens), routes
 * link attaches to queues, $cbs and $management, and tracks connections, links and sessions as they
 * go. See shared/notes/service-bus-amqp.md for what the SDK expects on the wire.
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

const MAX_MESSAGE_SIZE = 262_144;
const SWEEP_INTERVAL_IN_MS = 100;
/** How long a refused attach's detach (and the connection's writes after it) waits: the client reads the attach first. */
const REFUSAL_DETACH_DELAY_IN_MS = 20;
const MANAGEMENT_SUFFIX = "/$management";

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
    this.container.on("connection_open", (context: EventContext) => this.stateOf(context.connection));
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
      this.writers.set(socket, coalesceSocketWrites(socket));
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
      state = new ConnectionState();
      this.states.set(connection, state);
      this.connections.add(connection);
    }
    return state;
  }

  private resolveEntity(address: string): QueueEntity | undefined {
    const parts = entityPathOf(address).split("/");
    const queue = parts[0] === undefined ? undefined : this.queues.get(parts[0]);
    if (parts.length === 1) return queue;
    if (parts.length === 2 && parts[1] === "$deadletterqueue") return queue?.deadLetterQueue;
    return undefined;
  }

  /**
   * Refuses an attach as Service Bus does: an attach without source/target, then a detach with the
   * error, each in a write of its own. The SDK reports the detach's error only when it read the attach
   * first (a session receiver then closes the link and gets the error as the answer); with both in
   * one read it reports a generic "session may be locked" instead.
   */
  private refuse(link: Sender | Receiver, condition: string, description: string): void {
    const socket = (link.connection as unknown as { socket?: Socket }).socket;
    // The attach leaves alone and the detach after a pause: two writes are not two reads, and with
    // Nagle off (coalesceSocketWrites) both could reach the client in one.
    if (socket) this.writers.get(socket)?.holdAfterNextWrite(REFUSAL_DETACH_DELAY_IN_MS);
    link.close({ condition, description });
  }

  private echoSettleModes(link: Sender | Receiver): void {
    const local = linkInternals(link).local.attach;
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
    if (!this.stateOf(connection).isAuthorized(entityPathOf(linkAddress ?? address), Date.now())) {
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
    const address = terminusAddress(sender.source);
    this.echoSettleModes(sender);
    if (address === "$cbs" || address?.toLowerCase().endsWith(MANAGEMENT_SUFFIX)) {
      if (address !== "$cbs") {
        const entityAddress = address.slice(0, -MANAGEMENT_SUFFIX.length);
        if (!this.admit(sender, connection, entityAddress, address)) return;
      }
      sender.set_source({ address });
      const target = terminusAddress(sender.target);
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
    watchDispositions(sender, consumer, this.tally);
    sender.on("sendable", () => queue.pumpFor(consumer));
    sender.on("sender_draining", () => {
      queue.pumpFor(consumer);
      sender.set_drained(true);
    });
    // Answer a drain even when the credit is already spent: the SDK waits for the drain flag.
    linkInternals(sender)._get_drain = function (this: LinkInternals): boolean {
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
    attachSessionReceiver({
      sender,
      address,
      consumer,
      state,
      requested: typeof requested === "string" ? requested : undefined,
      refuse: (condition, description) => this.refuse(sender, condition, description),
    });
  }

  /** The client attached a sender: we receive messages, $cbs tokens or $management requests. */
  private onReceiverOpen(context: EventContext): void {
    const receiver = context.receiver;
    if (!receiver) return;
    const connection = context.connection;
    const address = terminusAddress(receiver.target);
    this.echoSettleModes(receiver);
    if (address === "$cbs") {
      serveCbsLink(receiver, this.stateOf(connection), this.options.sasKey, this.tally);
      return;
    }
    if (address?.toLowerCase().endsWith(MANAGEMENT_SUFFIX)) {
      const entityAddress = address.slice(0, -MANAGEMENT_SUFFIX.length);
      const queue = this.admit(receiver, connection, entityAddress, address);
      if (!queue) return;
      serveManagementLink(receiver, address, queue, this.stateOf(connection), this.tally);
      return;
    }
    const queue = this.admit(receiver, connection, address);
    if (!queue || address === undefined) return;
    receiver.set_target({ address });
    linkInternals(receiver).local.attach.max_message_size = MAX_MESSAGE_SIZE;
    receiver.on("message", (messageContext: EventContext) => acceptTransfer(queue, messageContext, this.tally));
  }

  private onLinkClosed(connection: Connection, sender: Sender | undefined): void {
    if (!sender) return;
    const state = this.stateOf(connection);
    for (const consumer of state.consumers) {
      if (consumer.sender === sender) state.dropConsumer(consumer);
    }
    for (const [key, link] of state.replyLinks) if (link === sender) state.replyLinks.delete(key);
  }

  private onSessionClosed(connection: Connection, session: Session | undefined): void {
    if (!session) return;
    const state = this.stateOf(connection);
    for (const consumer of state.consumers) {
      if (consumer.sender.session === session) state.dropConsumer(consumer);
    }
  }

  private onConnectionGone(connection: Connection): void {
    const state = this.states.get(connection);
    if (state) {
      for (const consumer of state.consumers) state.dropConsumer(consumer);
      state.replyLinks.clear();
    }
    this.connections.delete(connection);
  }
}
