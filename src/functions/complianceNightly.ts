import { type InvocationContext, type Timer } from "@azure/functions";
import { getComplianceNightly } from "../composition/services.js";
import { type ComplianceNightly, type ComplianceRunResult } from "../core/compliance/ComplianceNightly.js";
import { defineFunction } from "./definition.js";

/** The timer's handler over a use-case factory (tests pass their own). */
export function createComplianceNightlyHandler(getNightly: () => Promise<Pick<ComplianceNightly, "run">>) {
  return async (_timer: Timer, context: InvocationContext): Promise<ComplianceRunResult> => {
    const nightly = await getNightly();
    const result = await nightly.run();
    for (const chain of result.chains) {
      context.log(`compliance ${result.date} ${chain.chainId}: ${chain.ok ? `intact=${chain.intact} checkpoint=${chain.checkpointSize ?? "none"} requests=${chain.requests} anomalies=${chain.anomalies}` : "FAILED"}`);
    }
    // A broken chain or a failed summary must show as a failed run (alerts), after every chain was tried.
    const bad = result.chains.filter((chain) => !chain.ok || !chain.intact);
    if (bad.length > 0) throw new Error(`compliance ${result.date}: ${bad.length} chain(s) not intact or not summarised: ${bad.map((c) => c.chainId).join(", ")}`);
    return result;
  };
}

/** 02:00 UTC by default: verify and checkpoint every chain, and write the previous UTC day's summary and report. */
export const complianceNightly = createComplianceNightlyHandler(getComplianceNightly);

export const definition = defineFunction({
  kind: "timer",
  name: "complianceNightly",
  options: { schedule: "%COMPLIANCE_SCHEDULE%", handler: complianceNightly },
});
