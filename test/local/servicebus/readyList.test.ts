import { describe, expect, it } from "vitest";
import { ReadyList } from "../../../local/servicebus/readyList.js";

const item = (sequenceNumber: number) => ({ sequenceNumber });

describe("ReadyList", () => {
  it("gives items back in sequence order, returned ones in their place", () => {
    const list = new ReadyList<{ sequenceNumber: number }>();
    for (const n of [1, 2, 3, 4]) list.add(item(n));
    expect(list.shift()?.sequenceNumber).toBe(1);
    expect(list.shift()?.sequenceNumber).toBe(2);
    list.add(item(2)); // abandoned: goes back ahead of 3
    list.add(item(7));
    list.add(item(5));
    const order: number[] = [];
    for (let next = list.shift(); next; next = list.shift()) order.push(next.sequenceNumber);
    expect(order).toEqual([2, 3, 4, 5, 7]);
    expect(list.size).toBe(0);
  });

  it("stays ordered through many appends, takes and returns", () => {
    const list = new ReadyList<{ sequenceNumber: number }>();
    const taken: number[] = [];
    for (let n = 1; n <= 5000; n++) {
      list.add(item(n));
      if (n % 3 === 0) taken.push(list.shift()!.sequenceNumber);
    }
    for (const n of taken.filter((_, i) => i % 2 === 0)) list.add(item(n));
    let previous = 0;
    while (list.size > 0) {
      const next = list.shift()!.sequenceNumber;
      expect(next).toBeGreaterThan(previous);
      previous = next;
    }
  });
});
