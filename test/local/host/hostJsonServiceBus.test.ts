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

  it("takes sessions, idle timeout, batch size and lock renewal from the app's own host.json", () => {
    const path = appHostJsonPath();
    expect(path).not.toBeNull();
    const hostJson = JSON.parse(readFileSync(path ?? "", "utf8")) as { extensions: { serviceBus: { sessionHandlerOptions: { maxConcurrentSessions: number } } } };
    const settings = hostServiceBusSettingsOf(hostJson);
    expect(settings.maxConcurrentSessions).toBe(hostJson.extensions.serviceBus.sessionHandlerOptions.maxConcurrentSessions);
    expect(settings).toMatchObject({ sessionIdleTimeoutInMs: 5_000, maxMessagesPerBatch: 100, maxAutoLockRenewalDurationInMs: 300_000 });
  });

  it("falls back to the extension's defaults where host.json is silent", () => {
    expect(hostServiceBusSettingsOf({})).toEqual({ maxConcurrentSessions: 8, sessionIdleTimeoutInMs: 60_000, maxMessagesPerBatch: 1_000, maxAutoLockRenewalDurationInMs: 300_000 });
  });
});
