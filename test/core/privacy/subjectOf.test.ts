import { describe, expect, it } from "vitest";
import { isPalisadeError } from "../../../src/core/errors.js";
import { subjectOf } from "../../../src/core/privacy/subjectOf.js";

describe("subjectOf", () => {
  it("prefers the x-palisade-subject header, then the body's user; null when neither", () => {
    expect(subjectOf({ "X-Palisade-Subject": " user-1 " }, "body-user")).toBe("user-1");
    expect(subjectOf({}, "body-user")).toBe("body-user");
    expect(subjectOf(new Headers({ "x-palisade-subject": "h" }), undefined)).toBe("h");
    expect(subjectOf({}, undefined)).toBeNull();
    expect(subjectOf({ "x-palisade-subject": "  " }, 42)).toBeNull();
  });

  it("refuses over-long or control-character ids with a 400 that does not echo them", () => {
    for (const bad of ["x".repeat(257), "a\u0000b", "line\nbreak"]) {
      let caught: unknown;
      try {
        subjectOf({}, bad);
      } catch (error) {
        caught = error;
      }
      expect(isPalisadeError(caught)).toBe(true);
      expect(caught).toMatchObject({ status: 400, code: "invalid_request", param: "user" });
      expect((caught as Error).message).not.toContain(bad);
    }
    expect(subjectOf({}, "é".repeat(128))).toBe("é".repeat(128));
  });
});
