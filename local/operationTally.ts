/**
 * Counts the operations an emulator served, by kind ("send", "table.transaction", ...), so a bench
 * can report the round trips a request costs on the real service (and on its bill).
 */
export class OperationTally {
  private readonly counts = new Map<string, number>();

  count(kind: string, by = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + by);
  }

  snapshot(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.counts);
  }
}
