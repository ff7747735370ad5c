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

/** Durations by stage; `read()` summarises them and starts over. */
export class StageRecorder {
  private samples = new Map<string, number[]>();

  record(stage: string, ms: number): void {
    const list = this.samples.get(stage) ?? [];
    list.push(ms);
    this.samples.set(stage, list);
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
 * requests wait on.
 */
export function timeStages(): StageRecorder {
  const recorder = new StageRecorder();
  const wrap = (prototype: object, method: string, stageOf: (args: readonly unknown[]) => string): void => {
    const original = (prototype as Record<string, AsyncMethod>)[method];
    if (typeof original !== "function") throw new Error(`stage timings: no method ${method} to time`);
    (prototype as Record<string, unknown>)[method] = async function timed(this: unknown, ...args: never[]): Promise<unknown> {
      const startedAt = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        recorder.record(stageOf(args), performance.now() - startedAt);
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
  return recorder;
}
