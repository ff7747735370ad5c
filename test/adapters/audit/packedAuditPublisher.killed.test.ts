import { type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { ServiceBusClient } from "@azure/service-bus";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SAS_KEY, DEFAULT_SAS_KEY_NAME } from "../../../local/servicebus/index.js";
import { CircuitBreakingAuditPublisher } from "../../../src/adapters/servicebus/CircuitBreakingAuditPublisher.js";
import { coalesceAmqpWrites } from "../../../src/adapters/servicebus/coalesceAmqpWrites.js";
import { ServiceBusAuditPublisher } from "../../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { OutboxAuditPublisher } from "../../../src/core/audit/OutboxAuditPublisher.js";
import { PalisadeError } from "../../../src/core/errors.js";
import { silentLogger } from "../../../src/core/logger.js";
import { CircuitBreaker } from "../../../src/core/resilience/CircuitBreaker.js";
import { makeAuditEvent } from "../../fakes/InMemoryAuditEvents.js";
import { InMemoryAuditOutbox } from "../../fakes/InMemoryAuditOutbox.js";
import { startEmulatorProcess } from "../../support/emulatorProcess.js";
import { ensureBuilt } from "../../support/hostProcesses.js";

/**
 * The broker killed (SIGKILL) while packed messages are being sent: each fail_closed publish either was
 * accepted or rejects with 503 audit_unavailable (never hangs, never escapes as an unhandled rejection),
 * and publishing works again once a broker is back.
 */

const QUEUE = "audit";
const escaped: unknown[] = [];
const onEscape = (error: unknown): void => void escaped.push(error);
const children: ChildProcess[] = [];
beforeAll(async () => {
  expect(coalesceAmqpWrites()).toBe(true);
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
  await ensureBuilt();
}, 180_000);
afterAll(() => {
  process.off("uncaughtException", onEscape);
  process.off("unhandledRejection", onEscape);
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** The emulator in a process of its own, killed after the suite. */
async function emulatorProcess(port: number): Promise<{ child: ChildProcess; port: number }> {
  const started = await startEmulatorProcess(port, QUEUE);
  children.push(started.child);
  return started;
}

const connectionString = (port: number): string => `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=${DEFAULT_SAS_KEY_NAME};SharedAccessKey=${DEFAULT_SAS_KEY};UseDevelopmentEmulator=true`;

describe("packed publishes when the broker is killed mid-send", () => {
  it("every fail_closed publish is accepted or rejects with 503 audit_unavailable; nothing escapes; publishing resumes after a restart", async () => {
    const first = await emulatorProcess(0);
    const client = new ServiceBusClient(connectionString(first.port), { retryOptions: { maxRetries: 1, retryDelayInMs: 100, timeoutInMs: 2_000 } });
    const breaker = new CircuitBreaker({ nowInMs: () => Date.now() }, { openForInMs: 200 });
    const primary = new CircuitBreakingAuditPublisher(new ServiceBusAuditPublisher(client.createSender(QUEUE)), { breaker, timeoutInMs: 3_000, firstTimeoutInMs: 16_000, logger: silentLogger });
    const outbox = new InMemoryAuditOutbox();
    const publisher = new OutboxAuditPublisher({ primary, outbox, failureModeFor: () => "fail_closed", logger: silentLogger });
    try {
      await publisher.publish([makeAuditEvent({ project: "killed" })]);
      // 48 requests' admission + outcome pairs on one chain: coalesced into a few packed messages.
      const inFlight = Array.from({ length: 48 }, (_, i) => publisher.publish([makeAuditEvent({ project: "killed", type: "request_admitted" }, i), makeAuditEvent({ project: "killed" }, i)]));
      first.child.kill("SIGKILL");
      await once(first.child, "exit");
      const outcomes = await Promise.allSettled(inFlight);
      const rejected = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
      expect(rejected.length).toBeGreaterThan(0);
      for (const { reason } of rejected) {
        expect(reason).toBeInstanceOf(PalisadeError);
        expect(reason).toMatchObject({ status: 503, code: "audit_unavailable" });
      }
      // fail_closed: nothing went to the outbox; the caller was told instead.
      expect(outbox.events.size).toBe(0);
      await emulatorProcess(first.port);
      let delivered = false;
      for (let attempt = 0; attempt < 20 && !delivered; attempt += 1) {
        delivered = await publisher.publish([makeAuditEvent({ project: "killed" }, 100), makeAuditEvent({ project: "killed" }, 101)]).then(
          () => true,
          async () => {
            await new Promise((resolve) => setTimeout(resolve, 250));
            return false;
          },
        );
      }
      expect(delivered).toBe(true);
    } finally {
      // Closed while a broker is up: closing against a killed one waits for the SDK's own timeouts.
      await client.close().catch(() => undefined);
    }
    // Rejections from the SDK after the deadline (the breaker's timer won) are handled too.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(escaped).toEqual([]);
  }, 90_000);
});
