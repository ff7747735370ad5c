import { describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { type AuditOutbox } from "../../src/core/audit/AuditOutbox.js";
import { makeAuditEvent } from "../fakes/InMemoryAuditEvents.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
const ids = (events: readonly AuditEvent[]) => events.map((e) => e.eventId).sort();

export function describeAuditOutboxContract(label: string, factory: () => Promise<{ outbox: AuditOutbox }>): void {
  describe(`AuditOutbox contract: ${label}`, () => {
    it("keeps events until deleted, one copy per event id", async () => {
      const { outbox } = await factory();
      const a = makeAuditEvent({ project: "p1", eventId: "id/with#odd?chars" });
      const b = makeAuditEvent({ project: "p2" });
      await outbox.put([a, b]);
      await outbox.put([a]);
      const listed = await collect(outbox.list());
      expect(ids(listed)).toEqual(ids([a, b]));
      expect(listed.find((e) => e.eventId === a.eventId)).toEqual(a);
      expect((await collect(outbox.list({ limit: 1 }))).length).toBe(1);
      await outbox.delete([a]);
      await outbox.delete([a]);
      expect(ids(await collect(outbox.list()))).toEqual([b.eventId]);
    });
  });
}
