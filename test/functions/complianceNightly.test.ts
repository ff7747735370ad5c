import { InvocationContext } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { type ChainRunResult, type ComplianceRunOptions } from "../../src/core/compliance/ComplianceNightly.js";
import { createComplianceNightlyHandler, definition } from "../../src/functions/complianceNightly.js";

const timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };
const chain = (chainId: string, overrides: Partial<ChainRunResult> = {}): ChainRunResult => ({
  chainId,
  ok: true,
  intact: true,
  checkpointSize: 10,
  requests: 5,
  anomalies: 0,
  locations: [],
  summary: null,
  ...overrides,
});

describe("complianceNightly function", () => {
  it("is a timer on %COMPLIANCE_SCHEDULE%", () => {
    expect(definition.kind).toBe("timer");
    expect(definition.name).toBe("complianceNightly");
    expect(definition.options.schedule).toBe("%COMPLIANCE_SCHEDULE%");
  });

  it("runs the job for the default day (no options) and returns its result", async () => {
    const calls: ComplianceRunOptions[] = [];
    const handler = createComplianceNightlyHandler(async () => ({
      run: async (options: ComplianceRunOptions = {}) => {
        calls.push(options);
        return { date: "2026-03-10", chains: [chain("acme"), chain("billing")] };
      },
    }));
    const result = await handler(timer, new InvocationContext({ invocationId: "i1", functionName: "complianceNightly" }));
    expect(calls).toEqual([{}]);
    expect(result.chains.map((c) => c.chainId)).toEqual(["acme", "billing"]);
  });

  it("fails the run (after every chain) when a chain is not intact or not summarised", async () => {
    const handler = createComplianceNightlyHandler(async () => ({
      run: async () => ({ date: "2026-03-10", chains: [chain("acme", { intact: false }), chain("billing"), chain("ops", { ok: false, error: "boom" })] }),
    }));
    await expect(handler(timer, new InvocationContext({ invocationId: "i2", functionName: "complianceNightly" }))).rejects.toThrow(/2 chain\(s\).*acme, ops/);
  });
});
