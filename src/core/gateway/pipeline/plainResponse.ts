import { dependencyUnavailable, PalisadeError } from "../../errors.js";
import { type DataClass } from "../../policy/schema.js";
import { addServedByHeaders } from "../../routing/servedByHeaders.js";
import { type OutputSafetyResult, screenPlainAnswer } from "../../safety/outputSafety.js";
import { isContentFilteredError } from "../../safety/safetyErrors.js";
import { type GatewayResponse } from "../GatewayRequest.js";
import { UpstreamCallFailed, callWithFailover } from "./callWithFailover.js";
import { type Admitted, type GovernedPipeline } from "./GovernedPipeline.js";
import { sensitiveDataDetected } from "./inspectInput.js";
import { noteOutputSafety } from "./noteOutputSafety.js";
import { type Operation, type PlainAnswer, type ServedBy } from "./Operation.js";
import { OutputScanner } from "./OutputScanner.js";
import { type PipelineDeps } from "./PipelineDeps.js";
import { type RequestRun, type ServedFacts } from "./RequestRun.js";
import { storeInCache } from "./responseCacheStage.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A plain (not streamed) answer: the upstream call overlapping the admission's record, the settlement,
 * output DLP and content safety on the answer, the outcome recorded before anything is released.
 */
export async function plainResponse<T>(pipeline: GovernedPipeline, admitted: Admitted<T>, cacheKey: string | null): Promise<GatewayResponse> {
  const { deps } = pipeline;
  const { run, operation, context, inspection, plan, body, reservation, admission } = admitted;
  const { input, telemetry } = run;
  const project = context.project;
  // An admission that cannot be stored stops the call it overlaps; one already durable (fail_closed)
  // cannot fail any more, and the call goes without a signal (no controller, no listeners).
  const abort = admission.confirmed ? null : new AbortController();
  if (abort) admission.durable.catch(() => abort.abort());
  let served;
  try {
    served = await callWithFailover(
      deps,
      telemetry,
      plan,
      (endpoint, timeoutInMs) =>
        telemetry.attempt(
          endpoint,
          plan.deployment,
          (traceparent) => operation.call(endpoint, body, { projectId: project.id, deployment: plan.deployment, timeoutInMs, requestId: input.requestId, traceparent, tracestate: input.tracestate, abortSignal: abort?.signal }),
          (answer) => ({ responseModel: answer.body.model, usage: answer.usage }),
        ),
      (from, to, reason) => pipeline.events.fallback(run.auditContext(), from, to, reason, plan.residency),
      run.pending,
      abort?.signal,
    );
  } catch (error) {
    const failed = error instanceof UpstreamCallFailed ? error : new UpstreamCallFailed(error, null, 0);
    await admission.durable.then(
      () => deps.limits.release(reservation),
      // The call it overlapped may have reached the model: settle at what was reserved (the safe side).
      () => pipeline.settle(run, admitted, null),
    ).catch((settleError: unknown) => {
      // The refusal below says what the caller sees; a reservation that could not be handed back expires with its lease.
      deps.logger.warn("reservation not released after a failed upstream call", { requestId: run.input.requestId, error: settleError instanceof Error ? settleError.name : "unknown" });
    });
    if (failed.endpoint) run.served = { endpoint: failed.endpoint, attempts: failed.attempts };
    await admission.durable;
    throw failed.error;
  }
  const answer = served.result;
  // One record of what was served, completed as the stages learn more (nothing keeps an earlier copy).
  const servedFacts: Mutable<ServedFacts> = { endpoint: served.endpoint, attempts: served.attempts, responseModel: answer.body.model, usage: answer.usage };
  run.served = servedFacts;
  const settled = await pipeline.settle(run, admitted, answer.usage);
  servedFacts.costUsd = settled.costUsd;
  await admission.durable;

  const scanner = new OutputScanner(project.dlp, inspection.redactor);
  const outputBody = telemetry.stageSync("inspect_output", () => operation.inspectAnswer(answer, scanner));
  const outputCounts = scanner.counts();
  servedFacts.outputCounts = outputCounts;
  const dlpBlocked = scanner.blocked ? sensitiveDataDetected("completion", outputCounts) : null;
  const safety = dlpBlocked ? null : await screenAnswer(deps, run, admitted.dataClass, outputBody);
  const blocked = dlpBlocked ?? safety?.failure ?? (await beforeRelease(operation, answer, body, { projectId: project.id, endpointId: served.endpoint.id, reservation, settledTokens: settled.tokens }));
  const filtered = isContentFilteredError(blocked) ? blocked : null;
  // A blocked answer was still a paid call: its event keeps the tokens, cost and endpoint.
  const outcome = pipeline.events.outcome(run.auditContext(), {
    endpoint: served.endpoint,
    usage: answer.usage,
    costUsd: settled.costUsd,
    latencyInMs: deps.clock.nowInMs() - run.startedAtInMs,
    outputFindings: outputCounts,
    attempts: served.attempts,
    failure: blocked ? { status: blocked.status, code: blocked.code, ...(filtered ? { type: filtered.auditType } : {}) } : null,
    admissionEventId: admission.eventId,
    ...(filtered ? { details: filtered.auditDetails } : {}),
  });
  run.unconfirmedOutcomeId = outcome.eventId;
  // Nearly always the outcome alone (no failover, no budget threshold crossed): no copies of empty lists.
  const events = run.pending.length === 0 && settled.warningEvents.length === 0 ? [outcome] : [...run.pending.splice(0), outcome, ...settled.warningEvents];
  await pipeline.recorder.publish(telemetry, project, events);
  run.unconfirmedOutcomeId = undefined;
  run.recorded = true;
  if (blocked) throw blocked;

  if (cacheKey) await storeInCache(deps, cacheKey, project, JSON.stringify(outputBody), served.endpoint);
  // Built in one object, in the order the headers go out.
  const headers = pipeline.commonHeaders(input, reservation.headers, admitted.dataClass, inspection.redactions + scanner.redactions);
  addServedByHeaders(headers, served.endpoint);
  if (cacheKey) headers["x-palisade-cache"] = "miss";
  return { kind: "json", status: 200, headers, body: outputBody };
}

/** The operation's last step before release (Operation.beforeRelease); its failure becomes the request's refusal. */
async function beforeRelease<T>(operation: Operation<T>, answer: PlainAnswer, upstreamBody: Readonly<Record<string, unknown>>, servedBy: ServedBy): Promise<PalisadeError | null> {
  try {
    await operation.beforeRelease?.(answer, upstreamBody, servedBy);
    return null;
  } catch (error) {
    return error instanceof PalisadeError ? error : dependencyUnavailable("stored-response-owners", { cause: error });
  }
}

/** Content safety on a plain answer as it would be sent; its flags, fail-open passes and the upstream's own filter go on the outcome event. */
async function screenAnswer(deps: PipelineDeps, run: RequestRun, dataClass: DataClass, body: unknown): Promise<OutputSafetyResult> {
  const project = run.facts.project;
  const stage = deps.contentSafety;
  const result = project && stage?.applies(project, dataClass) ? await run.telemetry.stage("content_safety", () => screenPlainAnswer(stage, project, dataClass, body)) : await screenPlainAnswer(undefined, {}, dataClass, body);
  noteOutputSafety(run, result);
  return result;
}
