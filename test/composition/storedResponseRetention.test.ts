import { describe, expect, it } from "vitest";
import { parseSettings } from "../../src/composition/settings.js";

const STORAGE = { AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true" };

describe("PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS", () => {
  it("is 30 days unless set (OpenAI keeps stored Responses 30 days)", () => {
    expect(parseSettings(STORAGE).PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS).toBe(30);
    expect(parseSettings({ ...STORAGE, PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS: "7" }).PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS).toBe(7);
  });

  it("refuses a retention that is not a whole number of days from 1", () => {
    for (const value of ["0", "-1", "1.5", "thirty"]) expect(() => parseSettings({ ...STORAGE, PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS: value }), value).toThrow(/PALISADE_STORED_RESPONSE_RETENTION_IN_DAYS/);
  });
});
