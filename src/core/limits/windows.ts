/**
 * Fixed UTC windows. A minute window is floor(epochMs / 60 000): every instance computes the same
 * index for the same instant, whatever its time zone. Days and months are UTC calendar periods.
 */

export const MINUTE_IN_MS = 60_000;

export interface Windows {
  /** floor(epochMs / 60 000). */
  readonly minute: number;
  /** `YYYY-MM-DD` (UTC). */
  readonly day: string;
  /** `YYYY-MM` (UTC). */
  readonly month: string;
}

/** The last minute's windows: every request of a minute asks for the same ones (a Date and an ISO string each, otherwise). */
let lastWindows: Windows | null = null;

export function windowsAt(epochMs: number): Windows {
  const minute = Math.floor(epochMs / MINUTE_IN_MS);
  if (lastWindows !== null && lastWindows.minute === minute) return lastWindows;
  const windows = windowsOfMinute(minute);
  lastWindows = windows;
  return windows;
}

/** The windows of the minute after `windows`' (a day or a month may turn with it). Not cached: requests keep theirs. */
export function nextWindows(windows: Pick<Windows, "minute">): Windows {
  return windowsOfMinute(windows.minute + 1);
}

function windowsOfMinute(minute: number): Windows {
  const iso = new Date(minute * MINUTE_IN_MS).toISOString();
  return Object.freeze({ minute, day: iso.slice(0, 10), month: iso.slice(0, 7) });
}

/** Milliseconds from `epochMs` until the current minute window ends. */
export function msUntilNextMinute(epochMs: number): number {
  return (Math.floor(epochMs / MINUTE_IN_MS) + 1) * MINUTE_IN_MS - epochMs;
}

/** Milliseconds from `epochMs` until the next UTC midnight. */
export function msUntilNextDay(epochMs: number): number {
  const date = new Date(epochMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1) - epochMs;
}

/** Milliseconds from `epochMs` until the first instant of the next UTC month. */
export function msUntilNextMonth(epochMs: number): number {
  const date = new Date(epochMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) - epochMs;
}
