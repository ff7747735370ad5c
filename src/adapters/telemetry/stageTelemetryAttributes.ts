/** The stage names and attribute sets of governed-request telemetry: fixed, so made once at load. */
import { type Attributes } from "@opentelemetry/api";
import { type GatewayStage } from "../../core/telemetry/GatewayTelemetry.js";
import { ATTR } from "../../core/telemetry/telemetryAttributes.js";

export const STAGE_SPAN_NAMES: Readonly<Record<GatewayStage, string>> = {
  authenticate: "palisade.authenticate",
  authorize: "palisade.authorize",
  inspect: "palisade.inspect",
  content_safety: "palisade.content_safety",
  route: "palisade.route",
  cache: "palisade.cache",
  limit: "palisade.limit",
  upstream: "palisade.upstream",
  settle: "palisade.settle",
  inspect_output: "palisade.inspect_output",
  audit_publish: "palisade.audit_publish",
};

/** Attribute sets that never change, made once: the hot path allocates none of them. */
const STAGES = Object.keys(STAGE_SPAN_NAMES) as GatewayStage[];

export function perStage<T>(make: (stage: GatewayStage) => T): Readonly<Record<GatewayStage, T>> {
  const table: Partial<Record<GatewayStage, T>> = {};
  for (const stage of STAGES) table[stage] = make(stage);
  return table as Record<GatewayStage, T>;
}

export const STAGE_SPAN_ATTRIBUTES = perStage((stage): Attributes => Object.freeze({ [ATTR.stage]: stage }));
export const STAGE_METRIC_ATTRIBUTES = perStage((stage) => ({
  ok: Object.freeze({ [ATTR.stage]: stage, [ATTR.outcome]: "ok" }),
  error: Object.freeze({ [ATTR.stage]: stage, [ATTR.outcome]: "error" }),
}));
export const ROOT_ATTRIBUTES: Attributes = Object.freeze({ [ATTR.genAiOperation]: "chat" });
