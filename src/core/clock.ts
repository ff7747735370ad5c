/** The only way core learns the time: adapters pass a system clock, tests a manual one. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowInMs(): number;
}

/** A clock tests can move by hand. */
export class ManualClock implements Clock {
  constructor(private currentInMs: number = Date.UTC(2026, 0, 1)) {}
  nowInMs(): number {
    return this.currentInMs;
  }
  advance(byInMs: number): void {
    this.currentInMs += byInMs;
  }
  set(toInMs: number): void {
    this.currentInMs = toInMs;
  }
}
