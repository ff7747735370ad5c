import { PalisadeError, isPalisadeError } from "../../errors.js";
import { addServedByHeaders } from "../../routing/servedByHeaders.js";
import { type EndpointPolicy } from "../../policy/schema.js";
import { type GatewayResponse } from "../GatewayRequest.js";
import { UpstreamCallFailed, callWithFailover } from "./callWithFailover.js";
import { type Admitted, type GovernedPipeline } from "./GovernedPipeline.js";
import { type StreamSession } from "./Operation.js";
import { OutputScanner } from "./OutputScanner.js";
import { auditUnavailable } from "./RequestRecorder.js";
import { StreamOutputGate } from "../../safety/outputSafety.js";
import { isContentFilteredError } from "../../safety/safetyErrors.js";
import { noteOutputSafety } from "./noteOutputSafety.js";

interface OpenStream<T> {
  readonly admitted: Admitted<T>;
  readonly upstream: AsyncIterable<unknown>;
  readonly endpoint: EndpointPolicy;
  readonly attempts: number;
  readonly session: StreamSession;
  readonly scanner: OutputScanner;
  /** Content safety's hold on the frames until their text is screened. */
  readonly gate: StreamOutputGate;
  readonly request: T;
}

/** How a stream ended; null while it runs (and for good when the caller went away). */
type StreamEnd = { readonly failure: PalisadeError | null };

/**
 * The streamed path: open the upstream stream (failing over only before the first byte), wait for the
 * admission record to be durable, then send the upstream's events inspected as they flow. Whatever
 * happens after the headers — served, blocked, broken, or abandoned by the caller — the usage is
 * settled and the outcome recorded.
 */
export async function streamedResponse<T>(pipeline: GovernedPipeline, admitted: Admitted<T>, request: T): Promise<GatewayResponse> {
  const { deps } = pipeline;
  const { run, operation, plan, body, reservation, admission, inspection, context } = admitted;
  const streaming = operation.streaming;
  if (!streaming) throw new Error("the operation cannot stream");
  run.streamed = true;
  let served;
  try {
    served = await callWithFailover(
      deps,
      run.telemetry,
      plan,
      (endpoint, timeoutInMs) =>
        run.telemetry.attempt(endpoint, plan.deployment, (traceparent) =>
          streaming.open(endpoint, body, { projectId: context.project.id, deployment: plan.deployment, timeoutInMs, requestId: run.input.requestId, traceparent, tracestate: run.input.tracestate }),
        ),
      (from, to, reason) => pipeline.events.fallback(run.auditContext(), from, to, reason, plan.residency),
      run.pending,
    );
  } catch (error) {
    const failed = error instanceof UpstreamCallFailed ? error : new UpstreamCallFailed(error, null, 0);
    if (failed.endpoint) run.served = { endpoint: failed.endpoint, attempts: failed.attempts };
    await admission.durable.then(
      () => deps.limits.release(reservation),
      () => pipeline.settle(run, admitted, null),
    ).catch((settleError: unknown) => {
        // The refusal below says what the caller sees; a reservation that could not be handed back expires with its lease.
        deps.logger.warn("reservation not released after a failed upstream call", { requestId: run.input.requestId, error: settleError instanceof Error ? settleError.name : "unknown" });
      });
    await admission.durable;
    throw failed.error;
  }
  run.served = { endpoint: served.endpoint, attempts: served.attempts };
  try {
    // Nothing reaches the caller before the decision is in the trail.
    await admission.durable;
  } catch (error) {
    await closeQuietly(served.result);
    await pipeline.settle(run, admitted, null).catch(() => undefined);
    throw error;
  }
  const scanner = new OutputScanner(context.project.dlp, inspection.redactor);
  const open: OpenStream<T> = { admitted, upstream: served.result, endpoint: served.endpoint, attempts: served.attempts, session: streaming.session(request, scanner), scanner, gate: new StreamOutputGate(deps.contentSafety, context.project, admitted.dataClass), request };
  const headers = pipeline.commonHeaders(run.input, reservation.headers, admitted.dataClass, inspection.redactions);
  addServedByHeaders(headers, served.endpoint);
  return { kind: "stream", status: 200, headers, events: frames(pipeline, open) };
}

async function closeQuietly(stream: AsyncIterable<unknown>): Promise<void> {
  try {
    await stream[Symbol.asyncIterator]().return?.();
  } catch {
    // Closing a stream nobody reads: nothing to tell anyone.
  }
}

/**
 * The frames of the stream. The `finally` runs on every end — served, failed, blocked, and the
 * caller going away (the response body's cancel returns this generator) — and settles and records.
 */
async function* frames<T>(pipeline: GovernedPipeline, open: OpenStream<T>): AsyncGenerator<string> {
  const { session, scanner, gate } = open;
  const stage = open.admitted.run.telemetry.begin("inspect_output");
  let end: StreamEnd | null = null;
  let recorded = false;
  try {
    try {
      for await (const event of open.upstream) {
        const out = session.push(event);
        if (scanner.blocked) break;
        for (const frame of await gate.push(event, out)) yield frame;
        if (gate.blocked) break;
      }
      const tail = scanner.blocked || gate.blocked ? [] : session.finish();
      if (!scanner.blocked && !gate.blocked) for (const frame of await gate.finish(tail)) yield frame;
      end = { failure: scanner.blocked ? blockedStream() : gate.failure() };
    } catch (error) {
      end = {
        failure: isPalisadeError(error) ? error : new PalisadeError(502, "api_error", "upstream_error", `The upstream stream from endpoint ${open.endpoint.id} ended early. Retry the request.`),
      };
    }
    stage.end(end.failure ?? undefined);
  } finally {
    if (end === null) stage.end();
    recorded = await finishStream(pipeline, open, end).catch(() => false);
  }
  // Headers are gone; the closest to failing closed is an error frame instead of the end marker.
  const fatal = end.failure ?? (recorded ? null : auditUnavailable());
  if (fatal) {
    yield session.errorFrame(fatal);
    return;
  }
  for (const frame of session.closingFrames()) yield frame;
}

const blockedStream = (): PalisadeError =>
  new PalisadeError(422, "invalid_request_error", "sensitive_data_detected", "The model's answer contained sensitive data and this project blocks it; the stream was stopped.");

/** Settles the usage and records the outcome; `end` null: the caller went away mid-stream. Resolves whether the outcome is durable. */
async function finishStream<T>(pipeline: GovernedPipeline, open: OpenStream<T>, end: StreamEnd | null): Promise<boolean> {
  const { admitted, session, scanner } = open;
  const { run, operation, context } = admitted;
  const abandoned = end === null;
  const usage = session.usage();
  // A stream cut short by its caller is settled on what was sent and received; one that broke, at the
  // reservation, and so is one whose Response goes on upstream without its caller (background).
  const runsOn = abandoned && usage === null && session.runsOnWithoutCaller === true;
  const estimatedOutput = abandoned && usage === null && !runsOn ? operation.estimateOutputTokens(open.request, session.receivedTexts()) : undefined;
  const settled = await pipeline.settle(run, admitted, usage, estimatedOutput).catch(() => ({ costUsd: 0, tokens: null, warningEvents: [] }));
  if (runsOn && settled.tokens) await session.settledWithoutCaller?.(admitted.reservation, settled.tokens);
  const settledUsage = usage ?? (settled.tokens ? { promptTokens: settled.tokens.inputTokens, cachedPromptTokens: 0, completionTokens: settled.tokens.outputTokens } : null);
  const outputCounts = scanner.counts();
  run.served = { endpoint: open.endpoint, attempts: open.attempts, usage: settledUsage, costUsd: settled.costUsd, outputCounts };
  noteOutputSafety(run, open.gate.result());
  const filtered = isContentFilteredError(end?.failure) ? end.failure : null;
  const failure = abandoned
    ? { status: 499, code: "client_disconnected", kind: "error" as const }
    : end.failure
      ? { status: end.failure.status, code: end.failure.code, ...(filtered ? { type: filtered.auditType } : {}) }
      : null;
  const event = pipeline.events.outcome(run.auditContext(), {
    endpoint: open.endpoint,
    usage: settledUsage,
    costUsd: settled.costUsd,
    latencyInMs: pipeline.deps.clock.nowInMs() - run.startedAtInMs,
    outputFindings: outputCounts,
    attempts: open.attempts,
    failure,
    admissionEventId: admitted.admission.eventId,
    details: { streamed: true, ...(usage === null ? { usageEstimated: true } : {}), ...filtered?.auditDetails },
  });
  const recorded = await pipeline.recorder.publishBestEffort(run.telemetry, context.project, [...run.pending.splice(0), event, ...settled.warningEvents]);
  run.recorded = true;
  const status = failure ? failure.status : recorded ? 200 : 503;
  run.telemetry.end(run.summary(status, end?.failure ?? (recorded ? undefined : auditUnavailable()), abandoned));
  return recorded;
}
