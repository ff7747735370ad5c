import { type Sender } from "rhea";
import { amqpTypes } from "./amqp.js";
import { type ConnectionState } from "./connectionState.js";
import { dotnetTicksOf } from "./dotnetTicks.js";
import { type LinkConsumer } from "./linkConsumer.js";
import { linkInternals } from "./linkInternals.js";
import { type QueueSession } from "./queue.js";

export const SESSION_FILTER = "com.microsoft:session-filter";
/** Service Bus caps how long it holds an accept-next-session attach open. */
const MAX_SESSION_WAIT_IN_MS = 65_000;

export interface SessionAttach {
  readonly sender: Sender;
  readonly address: string;
  readonly consumer: LinkConsumer;
  readonly state: ConnectionState;
  /** The session the client asked for (acceptSession), or undefined for the next free one. */
  readonly requested: string | undefined;
  refuse(condition: string, description: string): void;
}

/**
 * Attaches a session receiver: the named session, or the unheld one with the oldest message. When
 * none is free, the attach is held open, as Service Bus does, until one is or the client's timeout
 * (refused then with com.microsoft:timeout). The attach echoes the session filter with the chosen id
 * and the session's lock expiry.
 */
export function attachSessionReceiver({ sender, address, consumer, state, requested, refuse }: SessionAttach): void {
  const queue = consumer.queue;
  if (requested !== undefined) {
    const session = queue.acquireSession(requested, consumer);
    if (!session) {
      refuse("com.microsoft:session-cannot-be-locked", `The session '${requested}' is locked by another receiver.`);
      return;
    }
    openSessionLink(sender, address, session);
    state.consumers.add(consumer);
    return;
  }
  const next = queue.acquireNextSession(consumer);
  if (next) {
    openSessionLink(sender, address, next);
    state.consumers.add(consumer);
    return;
  }
  const local = linkInternals(sender).state;
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
      openSessionLink(sender, address, session);
      queue.pumpFor(consumer);
    },
    onTimeout: () => {
      consumer.closed = true;
      state.consumers.delete(consumer);
      sender.open();
      refuse("com.microsoft:timeout", "No session became available within the operation timeout.");
    },
  });
}

function openSessionLink(sender: Sender, address: string, session: QueueSession): void {
  sender.set_source({ address, filter: { [SESSION_FILTER]: session.id } });
  linkInternals(sender).local.attach.properties = {
    "com.microsoft:locked-until-utc": amqpTypes.wrap_long(dotnetTicksOf(session.lockedUntilMs)),
  };
}
