import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { appHostJsonPath, hostServiceBusSettingsOf, timeSpanInMs } from "../../../local/host/hostJsonServiceBus.js";

describe("the local host reads host.json's Service Bus settings, as the Functions host does", () => {
  it("reads TimeSpan durations", () => {
    expect(timeSpanInMs("00:00:05")).toBe(5_000);
    expect(timeSpanInMs("00:05:00")).toBe(300_000);
    expect(timeSpanInMs("01:00:00.5")).toBe(3_600_500);
    expect(timeSpanInMs("5s")).toBeNull();
  });

  it("takes sessions, idle timeout, batch size, lock renewal and the try timeout from the app's own host.json", () => {
    const path = appHostJsonPath();
    expect(path).not.toBeNull();
    const hostJson = JSON.parse(readFileSync(path ?? "", "utf8")) as { extensions: { serviceBus: { maxConcurrentSessions: number } } };
    const settings = hostServiceBusSettingsOf(hostJson);
    expect(settings.maxConcurrentSessions).toBe(hostJson.extensions.serviceBus.maxConcurrentSessions);
    expect(settings).toMatchObject({ sessionIdleTimeoutInMs: 5_000, maxMessagesPerBatch: 100, minMessagesPerBatch: 100, maxBatchWaitTimeInMs: 200, maxAutoLockRenewalDurationInMs: 300_000, tryTimeoutInMs: 60_000 });
  });

  it("falls back to the extension's defaults where host.json is silent (the session idle timeout is then the try timeout)", () => {
    expect(hostServiceBusSettingsOf({})).toEqual({ maxConcurrentSessions: 8, sessionIdleTimeoutInMs: 60_000, maxMessagesPerBatch: 1_000, minMessagesPerBatch: 1, maxBatchWaitTimeInMs: 30_000, maxAutoLockRenewalDurationInMs: 300_000, tryTimeoutInMs: 60_000 });
    const withTryTimeout = { extensions: { serviceBus: { clientRetryOptions: { tryTimeout: "00:00:20" } } } };
    expect(hostServiceBusSettingsOf(withTryTimeout)).toMatchObject({ sessionIdleTimeoutInMs: 20_000, tryTimeoutInMs: 20_000 });
  });

  it("reads the names extension 5.x reads, and ignores the 4.x ones it dropped, as Azure does", () => {
    const legacy = { extensions: { serviceBus: { sessionHandlerOptions: { maxConcurrentSessions: 4, sessionIdleTimeout: "00:00:05" }, batchOptions: { maxMessageCount: 50 } } } };
    // 5.x still honours sessionHandlerOptions.maxConcurrentSessions, not the other two.
    expect(hostServiceBusSettingsOf(legacy)).toMatchObject({ maxConcurrentSessions: 4, sessionIdleTimeoutInMs: 60_000, maxMessagesPerBatch: 1_000 });
    const current = { extensions: { serviceBus: { maxConcurrentSessions: 2, sessionIdleTimeout: "00:00:03", maxMessageBatchSize: 10 } } };
    expect(hostServiceBusSettingsOf(current)).toMatchObject({ maxConcurrentSessions: 2, sessionIdleTimeoutInMs: 3_000, maxMessagesPerBatch: 10 });
    // A minimum above the maximum, or a wait past 2.5 min, are refused by the extension: kept within bounds here.
    const outOfBounds = { extensions: { serviceBus: { maxMessageBatchSize: 10, minMessageBatchSize: 50, maxBatchWaitTime: "00:10:00" } } };
    expect(hostServiceBusSettingsOf(outOfBounds)).toMatchObject({ minMessagesPerBatch: 10, maxBatchWaitTimeInMs: 150_000 });
  });
});
