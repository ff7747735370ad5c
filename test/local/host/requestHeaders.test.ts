import { describe, expect, it } from "vitest";
import { RequestHeaders } from "../../../local/host/requestHeaders.js";

/** What Node's HTTP parser hands the host: lowercase names, repeated ones already joined. */
const INCOMING: Record<string, string> = {
  "x-forwarded-for": "203.0.113.7, 127.0.0.1",
  authorization: "Bearer pk_test",
  "content-type": "application/json",
  host: "127.0.0.1:7071",
  "x-palisade-subject": "  padded  ",
  accept: "*/*",
};

/** Name-value pairs in iteration order (forEach follows the iterator's order). */
function pairs(headers: Headers): [string, string][] {
  const found: [string, string][] = [];
  headers.forEach((value, name) => found.push([name, value]));
  return found;
}

describe("local host: RequestHeaders reads as fetch's Headers for the same request", () => {
  it("gets by any case, iterates in name order, and trims values like Headers", () => {
    const lean = new RequestHeaders(INCOMING);
    const fetchHeaders = new Headers(INCOMING);
    expect(pairs(lean)).toEqual(pairs(fetchHeaders));
    expect([...lean]).toEqual(pairs(fetchHeaders));
    expect([...lean.keys()]).toEqual(pairs(fetchHeaders).map(([name]) => name));
    expect([...lean.values()]).toEqual(pairs(fetchHeaders).map(([, value]) => value));
    for (const name of ["Authorization", "CONTENT-TYPE", "x-palisade-subject", "missing"]) {
      expect(lean.get(name)).toBe(fetchHeaders.get(name));
      expect(lean.has(name)).toBe(fetchHeaders.has(name));
    }
    const seen: string[] = [];
    lean.forEach((value, name, parent) => {
      expect(parent).toBe(lean);
      seen.push(`${name}=${value}`);
    });
    expect(seen).toEqual(pairs(fetchHeaders).map(([name, value]) => `${name}=${value}`));
    expect(Object.prototype.toString.call(lean)).toBe("[object Headers]");
    expect(lean.getSetCookie()).toEqual(fetchHeaders.getSetCookie());
  });

  it("trims whitespace at either end only, as Headers does", () => {
    const values = ["lead", " lead", "trail ", "\tboth\t", "\r\nmixed \t", "in side", "", " ", "\t\t", "x"];
    const init = Object.fromEntries(values.map((value, index) => [`x-v${index}`, value]));
    expect(pairs(new RequestHeaders(init))).toEqual(pairs(new Headers(init)));
  });

  it("changes as Headers does: append joins, set replaces, delete removes; a new Headers copies it", () => {
    const lean = new RequestHeaders(INCOMING);
    const fetchHeaders = new Headers(INCOMING);
    for (const headers of [lean, fetchHeaders]) {
      headers.append("Accept", "text/plain");
      headers.set("X-Added", " yes ");
      headers.delete("HOST");
    }
    expect(pairs(lean)).toEqual(pairs(fetchHeaders));
    expect(pairs(new Headers(lean))).toEqual(pairs(fetchHeaders));
  });

  it("refuses what Headers refuses: a bad name, a value with a line break", () => {
    expect(() => new Headers({ "bad name": "x" })).toThrow(TypeError);
    expect(() => new RequestHeaders({ "bad name": "x" })).toThrow(TypeError);
    expect(() => new Headers().set("x-ok", "a\r\nb")).toThrow(TypeError);
    expect(() => new RequestHeaders().set("x-ok", "a\r\nb")).toThrow(TypeError);
    expect(() => new RequestHeaders().get("bad:name")).toThrow(TypeError);
  });
});
