/**
 * The entry hashes one appender committed to a chain, as one contiguous run: entries
 * [from, from + hashes.length), the first one linking to `prevHash`. Every one of them was written by an
 * ETag-conditional commit that succeeded on a head of exactly that size and last hash, so the run is what
 * the chain held right after those commits.
 */
export interface CommittedRun {
  readonly from: number;
  /** The hash of entry from - 1 (GENESIS_HASH when from is 0). */
  readonly prevHash: string;
  readonly hashes: readonly string[];
}

export interface CommittedRunsLimits {
  /** Hashes kept per chain (the newest; older ones are read back by the checkpoint if it needs them). */
  readonly perChain: number;
  /** Hashes kept over all chains: the least recently appended chain's run is dropped first. */
  readonly total: number;
}

interface Run {
  from: number;
  prevHash: string;
  hashes: string[];
}

/**
 * What an appender committed since each chain's latest checkpoint, so that its checkpoint need not read
 * those entries back (AuditCheckpointer, extendFromCommitted). A run only ever holds known-committed,
 * contiguous entries: a commit that does not continue it (another writer appended in between, the head
 * was re-read) starts a new one, and an unknown outcome forgets it.
 */
export class CommittedRuns {
  /** Chain id -> run; insertion order = least recently appended first. */
  private readonly runs = new Map<string, Run>();
  private kept = 0;

  constructor(private readonly limits: CommittedRunsLimits) {}

  /** A commit wrote entries with `hashes` at `from`, on a head whose last hash was `prevHash`. */
  committed(chainId: string, from: number, prevHash: string, hashes: readonly string[]): void {
    if (this.limits.perChain <= 0 || hashes.length === 0) return;
    const run = this.runs.get(chainId);
    this.forget(chainId);
    const continues = run !== undefined && run.from + run.hashes.length === from && (run.hashes.at(-1) ?? run.prevHash) === prevHash;
    const next: Run = continues ? run : { from, prevHash, hashes: [] };
    next.hashes.push(...hashes);
    const over = next.hashes.length - this.limits.perChain;
    if (over > 0) {
      next.prevHash = next.hashes[over - 1] as string;
      next.from += over;
      next.hashes = next.hashes.slice(over);
    }
    this.runs.set(chainId, next);
    this.kept += next.hashes.length;
    for (const oldest of this.runs.keys()) {
      if (this.kept <= this.limits.total || oldest === chainId) break;
      this.forget(oldest);
    }
  }

  /**
   * The outcome of a commit is unknown: keep nothing for the chain. Not what keeps a run sound (a commit
   * that landed unseen moved the head, so no later commit continues the run); it frees what is in doubt.
   */
  forget(chainId: string): void {
    const run = this.runs.get(chainId);
    if (run === undefined) return;
    this.kept -= run.hashes.length;
    this.runs.delete(chainId);
  }

  /** A copy of the chain's run (the appender may extend its own meanwhile), if any. */
  get(chainId: string): CommittedRun | undefined {
    const run = this.runs.get(chainId);
    return run === undefined ? undefined : { from: run.from, prevHash: run.prevHash, hashes: run.hashes.slice() };
  }

  /** A checkpoint now covers the chain's first `size` entries: the hashes below it are not needed again. */
  checkpointed(chainId: string, size: number): void {
    const run = this.runs.get(chainId);
    if (run === undefined || size <= run.from) return;
    const drop = size - run.from;
    if (drop >= run.hashes.length) {
      this.forget(chainId);
      return;
    }
    run.prevHash = run.hashes[drop - 1] as string;
    run.from = size;
    run.hashes = run.hashes.slice(drop);
    this.kept -= drop;
  }

  /** Hashes kept over all chains. */
  get size(): number {
    return this.kept;
  }
}
