import { describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { type AuditPublisher } from "../../src/core/audit/AuditPublisher.js";
import { makeAuditEvent } from "../fakes/InMemoryAuditEvents.js";

export interface PublishedEvent {
  readonly event: AuditEvent;
  /** The chain the transport grouped it under (Service Bus: the session id). */
  readonly chainId: string;
}

export function describeAuditPublisherContract(
  label: string,
  factory: () => Promise<{ publisher: AuditPublisher; received: (count: number) => Promise<PublishedEvent[]>; cleanup?: () => Promise<void> }>,
): void {
  describe(`AuditPublisher contract: ${label}`, () => {
    it("delivers every event, grouped by chain, in order within a chain", async () => {
      const { publisher, received, cleanup } = await factory();
      const a = Array.from({ length: 5 }, (_, i) => makeAuditEvent({ project: "pa" }, i));
      const b = Array.from({ length: 3 }, (_, i) => makeAuditEvent({ project: "pb" }, i));
      await publisher.publish([a[0]!, b[0]!, a[1]!, a[2]!, b[1]!]);
      await publisher.publish([a[3]!, b[2]!, a[4]!]);
      await publisher.publish([]);
      const got = await received(8);
      expect(got.filter((g) => g.chainId === "pa").map((g) => g.event)).toEqual(a);
      expect(got.filter((g) => g.chainId === "pb").map((g) => g.event)).toEqual(b);
      await publisher.close();
      await cleanup?.();
    });
  });
}
