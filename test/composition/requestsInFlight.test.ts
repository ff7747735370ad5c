import { describe, expect, it } from "vitest";
import { RequestsInFlight, giveWayToRequests } from "../../src/composition/requestsInFlight.js";

/** Whether a promise has settled after the microtasks and timers already due have run. */
async function settledSoon(promise: Promise<unknown>, withinMs = 5): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, withinMs));
  return settled;
}

describe("RequestsInFlight: background work waits, bounded, for a gap between requests", () => {
  it("resolves at once when no request is in flight", async () => {
    const requests = new RequestsInFlight();
    expect(await settledSoon(requests.idle(1_000), 0)).toBe(true);
  });

  it("waits while a request is in flight and resolves when the last one ends", async () => {
    const requests = new RequestsInFlight();
    requests.started();
    requests.started();
    const idle = requests.idle(1_000);
    expect(await settledSoon(idle)).toBe(false);
    requests.ended();
    expect(await settledSoon(idle)).toBe(false);
    requests.ended();
    expect(await settledSoon(idle)).toBe(true);
    expect(requests.size).toBe(0);
  });

  it("never waits longer than its bound: the work goes on under steady traffic", async () => {
    const requests = new RequestsInFlight();
    requests.started();
    const startedAt = performance.now();
    await requests.idle(30);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(25);
    expect(requests.size).toBe(1);
  });

  it("after a wait that found no gap, does not wait again for a while: back-to-back requests would only spread the work", async () => {
    const requests = new RequestsInFlight(2, 100);
    requests.started();
    await requests.idle(10);
    expect(await settledSoon(requests.idle(1_000), 0)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await settledSoon(requests.idle(1_000))).toBe(false);
    requests.ended();
  });

  it("does not wait when the instance is busy (more requests in flight than its light load): there is no gap to move into", async () => {
    const requests = new RequestsInFlight(2);
    for (let i = 0; i < 3; i++) requests.started();
    expect(await settledSoon(requests.idle(1_000), 0)).toBe(true);
  });

  it("counts a tracked request until it settles, failed or not", async () => {
    const requests = new RequestsInFlight();
    let finish: () => void = () => undefined;
    const tracked = requests.track(() => new Promise<string>((resolve) => (finish = () => resolve("answer"))));
    expect(requests.size).toBe(1);
    finish();
    expect(await tracked).toBe("answer");
    expect(requests.size).toBe(0);
    await expect(requests.track(() => Promise.reject(new Error("failed")))).rejects.toThrow("failed");
    expect(requests.size).toBe(0);
  });

  it("giveWayToRequests resumes after the turn the last request ended in, so its answer is written first", async () => {
    const requests = new RequestsInFlight();
    const order: string[] = [];
    let finish: () => void = () => undefined;
    // A request whose answer is written in the continuation of its handler, as the host does.
    const request = requests.track(() => new Promise<void>((resolve) => (finish = resolve))).then(() => order.push("answer written"));
    const slice = giveWayToRequests(1_000, requests)().then(() => order.push("background slice"));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(order).toEqual([]);
    finish();
    await Promise.all([request, slice]);
    expect(order).toEqual(["answer written", "background slice"]);
  });
});
