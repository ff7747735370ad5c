import { ServiceBusAuditPublisher } from "../../src/adapters/servicebus/ServiceBusAuditPublisher.js";
import { OpenAiCompletionProvider } from "../../src/adapters/openai/OpenAiCompletionProvider.js";
import { TableUsageCounterStore } from "../../src/adapters/tables/TableUsageCounterStore.js";
import { LimitGuard } from "../../src/core/limits/LimitGuard.js";

/** How long one stage of a request took, over the calls since the last read, ms. */
export interface StageSummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Calls that took 10 ms or more: the ones a slow request can be waiting on. */
  readonly over10Ms: number;
}

const percentile = (sorted: readonly number[], fraction: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;

type AsyncMethod = (this: unknown, ...args: never[]) => Promise<unknown>;

/** One timed call with its window on the monotonic clock (µs, process.hrtime: the same in every process). */
export interface StageSpan {
  readonly stage: string;
  readonly fromUs: number;
  readonly toUs: number;
}

/** The most spans kept between two reads (PALISADE_BENCH_TRACE=1). */
const MAX_SPANS = 50_000;

/** Durations by stage; `read()` summarises them and starts over. With `keepSpans`, each call's window too (`readSpans()`). */
export class StageRecorder {
  private samples = new Map<string, number[]>();
  private spans: StageSpan[] = [];

  constructor(private readonly keepSpans = false) {}

  record(stage: string, ms: number, fromUs?: number): void {
    const list = this.samples.get(stage) ?? [];
    list.push(ms);
    this.samples.set(stage, list);
    if (this.keepSpans && fromUs !== undefined && this.spans.length < MAX_SPANS) this.spans.push({ stage, fromUs, toUs: fromUs + Math.round(ms * 1_000) });
  }

  readSpans(): StageSpan[] {
    const spans = this.spans;
    this.spans = [];
    return spans;
  }

  read(): Record<string, StageSummary> {
    const summary: Record<string, StageSummary> = {};
    const round = (ms: number): number => Number(ms.toFixed(3));
    for (const [stage, list] of this.samples) {
      const sorted = [...list].sort((a, b) => a - b);
      summary[stage] = {
        count: sorted.length,
        p50Ms: round(percentile(sorted, 0.5)),
        p99Ms: round(percentile(sorted, 0.99)),
        maxMs: round(sorted[sorted.length - 1] ?? 0),
        over10Ms: sorted.filter((ms) => ms >= 10).length,
      };
    }
    this.samples = new Map();
    return summary;
  }
}

/**
 * Bench only (PALISADE_BENCH_STAGES=1 in gatewayServer): times each round trip a governed request
 * makes, by wrapping the adapters' methods on their prototypes — the audit publishes by event type
 * (the admission before the upstream call, the outcome before release), the upstream call, and the
 * counter store's apply, and a request's settlement (`limits.settle`: what the answer waits for after
 * the upstream call, a store write when it carries one) — so the bench can say which one the slow
 * requests wait on. The guard's reserve, flush and leaseNextWindows are spans too: they tell whose an
 * apply was (a request's admission, the usage timer's, or the lease of the next windows).
 */
export function timeStages(keepSpans = false): StageRecorder {
  const recorder = new StageRecorder(keepSpans);
  const wrap = (prototype: object, method: string, stageOf: (args: readonly unknown[]) => string): void => {
    const original = (prototype as Record<string, AsyncMethod>)[method];
    if (typeof original !== "function") throw new Error(`stage timings: no method ${method} to time`);
    (prototype as Record<string, unknown>)[method] = async function timed(this: unknown, ...args: never[]): Promise<unknown> {
      const startedAt = performance.now();
      const fromUs = monotonicUs();
      try {
        return await original.apply(this, args);
      } finally {
        recorder.record(stageOf(args), performance.now() - startedAt, fromUs);
      }
    };
  };
  wrap(ServiceBusAuditPublisher.prototype, "publish", (args) => {
    const events = args[0] as readonly { readonly type?: string }[] | undefined;
    return `publish.${events?.[0]?.type ?? "empty"}`;
  });
  wrap(OpenAiCompletionProvider.prototype, "complete", () => "upstream");
  wrap(TableUsageCounterStore.prototype, "apply", () => "limits.apply");
  wrap(LimitGuard.prototype, "settle", () => "limits.settle");
  // Where a store apply came from: a request's reservation, the timer's flush, or the lease of the next windows.
  wrap(LimitGuard.prototype, "reserve", () => "limits.reserve");
  wrap(LimitGuard.prototype, "flush", () => "limits.flush");
  wrap(LimitGuard.prototype, "leaseNextWindows", () => "limits.leaseNextWindows");
  return recorder;
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1_000n);

type Handler = (...args: never[]) => unknown;

/**
 * Bench only (PALISADE_BENCH_TRACE=1): each function's invocations as stages named `function.<name>`
 * (the HTTP routes, the audit trigger's append, the timers), so a slow request can be matched with the
 * invocations that ran beside it. Wraps the handlers of the definitions in place.
 */
export function timeFunctions(definitions: readonly { readonly name: string; readonly options: object }[], recorder: StageRecorder): void {
  for (const definition of definitions) {
    const options = definition.options as { handler?: Handler };
    const original = options.handler;
    if (typeof original !== "function") continue;
    const stage = `function.${definition.name}`;
    options.handler = async function timed(this: unknown, ...args: never[]): Promise<unknown> {
      const startedAt = performance.now();
      const fromUs = monotonicUs();
      try {
        return await original.apply(this, args);
      } finally {
        recorder.record(stage, performance.now() - startedAt, fromUs);
      }
    };
  }
}
