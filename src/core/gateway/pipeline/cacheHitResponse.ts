import { type CachedResponse } from "../../cache/ResponseCache.js";
import { type DataClass, type ProjectPolicy } from "../../policy/schema.js";
import { addServedByHeaders } from "../../routing/servedByHeaders.js";
import { type GatewayResponse } from "../GatewayRequest.js";
import { type GovernedPipeline } from "./GovernedPipeline.js";
import { type RequestRun } from "./RequestRun.js";

/** A response-cache hit: no upstream call and no tokens, but an outcome event like any answer. */
export async function cacheHitResponse(pipeline: GovernedPipeline, run: RequestRun, project: ProjectPolicy, dataClass: DataClass, hit: CachedResponse): Promise<GatewayResponse> {
  const { deps } = pipeline;
  run.cache = "hit";
  const endpoint = deps.policy.endpoints.find((candidate) => candidate.id === hit.endpointId);
  if (endpoint) run.served = { endpoint, attempts: 0, usage: null, costUsd: 0 };
  const event = pipeline.events.outcome(run.auditContext(), {
    endpoint: { id: hit.endpointId, region: hit.region, class: hit.endpointClass },
    usage: { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0 },
    costUsd: 0,
    latencyInMs: deps.clock.nowInMs() - run.startedAtInMs,
    outputFindings: {},
    attempts: 0,
    failure: null,
    details: { cache: "hit" },
  });
  await pipeline.recorder.publish(run.telemetry, project, [event]);
  run.recorded = true;
  const headers = pipeline.commonHeaders(run.input, {}, dataClass, 0);
  addServedByHeaders(headers, { region: hit.region, class: hit.endpointClass });
  headers["x-palisade-cache"] = "hit";
  headers.age = String(Math.max(0, Math.floor((deps.clock.nowInMs() - hit.createdAtInMs) / 1000)));
  return { kind: "json", status: 200, headers, body: JSON.parse(hit.body) as unknown };
}
