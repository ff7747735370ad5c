const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What an optimistic write does after losing a race (412/409): wait a jittered while that grows
 * with the attempt, up to a bound, so racing instances spread out; and count the loss, the
 * contention cost that benchmarks and logs report.
 */
export class ConflictBackoff {
  /** Conflicts seen so far. */
  conflicts = 0;

  constructor(
    /** Rounds (read, decide, commit) before a conflicted write fails. */
    readonly maxAttempts: number,
    private readonly maxBackoffInMs: number,
    private readonly random: () => number,
  ) {}

  async afterConflict(attempt: number): Promise<void> {
    this.conflicts++;
    // Full jitter, growing with the attempt, bounded: the racing instances spread out.
    await sleep(this.random() * Math.min(this.maxBackoffInMs, 2 ** attempt));
  }
}
