/** UTC calendar days, as `YYYY-MM-DD`. */

export const DAY_IN_MS = 86_400_000;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

export interface UtcDay {
  readonly date: string;
  /** Start of the day (inclusive), epoch ms. */
  readonly startInMs: number;
  /** Start of the next day (exclusive), epoch ms. */
  readonly endInMs: number;
}

/** Parses `YYYY-MM-DD` (a real calendar date); null when it is not one. */
export function parseUtcDay(date: string): UtcDay | null {
  const match = DATE_PATTERN.exec(date);
  if (match === null) return null;
  const [, y, m, d] = match;
  const startInMs = Date.UTC(Number(y), Number(m) - 1, Number(d));
  if (!Number.isFinite(startInMs) || formatUtcDay(startInMs) !== date) return null;
  return { date, startInMs, endInMs: startInMs + DAY_IN_MS };
}

export function formatUtcDay(timeInMs: number): string {
  return new Date(timeInMs).toISOString().slice(0, 10);
}

/** The UTC day before the one holding `nowInMs`: what the nightly job reports on. */
export function previousUtcDay(nowInMs: number): UtcDay {
  const today = Math.floor(nowInMs / DAY_IN_MS) * DAY_IN_MS;
  const date = formatUtcDay(today - DAY_IN_MS);
  return { date, startInMs: today - DAY_IN_MS, endInMs: today };
}

/** The day `offset` days from `day` (negative: earlier). */
export function shiftUtcDay(day: UtcDay, offset: number): UtcDay {
  const startInMs = day.startInMs + offset * DAY_IN_MS;
  return { date: formatUtcDay(startInMs), startInMs, endInMs: startInMs + DAY_IN_MS };
}
