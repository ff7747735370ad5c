import { type OutputSafetyResult } from "../../safety/outputSafety.js";
import { type RequestRun } from "./RequestRun.js";

/** Folds what output content safety found into the request's facts, so the outcome event and telemetry carry it. */
export function noteOutputSafety(run: RequestRun, result: OutputSafetyResult): void {
  if (Object.keys(result.details).length > 0) run.note({ checkDetails: { ...run.facts.checkDetails, ...result.details } });
  if (result.outcome !== undefined && result.outcome !== "allow") run.note({ contentSafety: result.outcome });
  else if (result.outcome === "allow" && run.facts.contentSafety === undefined) run.note({ contentSafety: "allow" });
}
