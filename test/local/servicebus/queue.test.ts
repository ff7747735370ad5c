import { describe, expect, it } from "vitest";
import { amqpMessage } from "../../../local/servicebus/amqp.js";
import { StoredMessage } from "../../../local/servicebus/messageCodec.js";
import { type Consumer, QueueEntity, type QueueMessage, type QueueSession } from "../../../local/servicebus/queue.js";

/** The queue's state machine on its own, with a hand-driven clock. */

function stored(body: string, fields: Record<string, unknown> = {}): StoredMessage {
  const bytes = amqpMessage.encode({ body, message_id: body, ...fields });
  return StoredMessage.fromWire(amqpMessage.decode(bytes), bytes, () => "generated");
}

class FakeConsumer implements Consumer {
  session: QueueSession | undefined;
  room = 100;
  lost = 0;
  readonly received: { message: QueueMessage; token: string | undefined }[] = [];
  constructor(readonly mode: "peekLock" | "receiveAndDelete" = "peekLock") {}
  capacity(): number {
    return this.room - this.received.length;
  }
  deliver(message: QueueMessage, token: string | undefined): void {
    this.received.push({ message, token });
  }
  sessionLost(): void {
    this.lost++;
  }
}

function queueWith(settings: Partial<{ requiresSession: boolean; lockDurationInMs: number; maxDeliveryCount: number }>) {
  let now = 1_000_000;
  const queue = new QueueEntity(
    { name: "q", requiresSession: false, lockDurationInMs: 30_000, maxDeliveryCount: 10, ...settings },
    () => now,
  );
  return { queue, advance: (ms: number) => (now += ms) };
}

describe("QueueEntity", () => {
  it("respects consumer capacity and hands over the rest when room appears", () => {
    const { queue } = queueWith({});
    for (const body of ["a", "b", "c"]) queue.enqueue(stored(body));
    const consumer = new FakeConsumer();
    consumer.room = 2;
    queue.addConsumer(consumer);
    queue.pumpFor(consumer);
    expect(consumer.received.map((r) => r.message.sequenceNumber)).toEqual([1, 2]);
    consumer.room = 3;
    queue.pumpFor(consumer);
    expect(consumer.received.map((r) => r.message.sequenceNumber)).toEqual([1, 2, 3]);
    expect(queue.depth).toBe(3);
    for (const { token } of consumer.received) expect(queue.settle(token!, { kind: "complete" })).toBe("ok");
    expect(queue.depth).toBe(0);
  });

  it("receiveAndDelete removes on hand-over", () => {
    const { queue } = queueWith({});
    const consumer = new FakeConsumer("receiveAndDelete");
    queue.addConsumer(consumer);
    queue.enqueue(stored("a"));
    expect(consumer.received[0]?.token).toBeUndefined();
    expect(queue.depth).toBe(0);
  });

  it("expires a timed lock on sweep and refuses the stale token", () => {
    const { queue, advance } = queueWith({ lockDurationInMs: 1_000 });
    const consumer = new FakeConsumer();
    queue.addConsumer(consumer);
    queue.enqueue(stored("a"));
    const first = consumer.received[0]!;
    advance(1_001);
    queue.sweep();
    expect(consumer.received).toHaveLength(2);
    expect(consumer.received[1]?.message.deliveryCount).toBe(1);
    expect(queue.settle(first.token!, { kind: "complete" })).toBe("lockLost");
    expect(queue.renewLock(first.token!)).toBeUndefined();
  });

  it("expires a session lock: the holder is told, its messages come back with deliveryCount + 1", () => {
    const { queue, advance } = queueWith({ requiresSession: true, lockDurationInMs: 1_000 });
    queue.enqueue(stored("a", { group_id: "s" }));
    const holder = new FakeConsumer();
    expect(queue.acquireSession("s", holder)).toBeDefined();
    queue.pumpFor(holder);
    expect(holder.received).toHaveLength(1);
    const other = new FakeConsumer();
    expect(queue.acquireSession("s", other)).toBeUndefined();
    advance(1_001);
    queue.sweep();
    expect(holder.lost).toBe(1);
    expect(holder.session).toBeUndefined();
    expect(queue.settle(holder.received[0]!.token!, { kind: "complete" })).toBe("lockLost");
    const next = new FakeConsumer();
    const session = queue.acquireNextSession(next);
    expect(session?.id).toBe("s");
    queue.pumpFor(next);
    expect(next.received[0]?.message.deliveryCount).toBe(1);
  });

  it("refuses a message without session id on a session queue", () => {
    const { queue } = queueWith({ requiresSession: true });
    expect(queue.refusal(stored("a"))).toMatch(/requires sessions/);
    expect(queue.refusal(stored("b", { group_id: "s" }))).toBeUndefined();
  });

  it("holds scheduled messages until due, and cancels them", () => {
    const { queue, advance } = queueWith({});
    const consumer = new FakeConsumer();
    queue.addConsumer(consumer);
    const due = queue.schedule(stored("due"), 1_000_000 + 500);
    const cancelled = queue.schedule(stored("cancelled"), 1_000_000 + 500);
    expect(queue.peek(0, 10, undefined).map((m) => m.state)).toEqual(["scheduled", "scheduled"]);
    queue.cancelScheduled([cancelled]);
    queue.sweep();
    expect(consumer.received).toHaveLength(0);
    advance(500);
    queue.sweep();
    expect(consumer.received.map((r) => r.message.sequenceNumber)).toEqual([due]);
  });
});
