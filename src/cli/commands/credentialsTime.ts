/** A timestamp to the minute, as the CLI prints them: `2026-12-06 21:58Z`. */
export const isoMinute = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")}Z`;

/** Readers cache credentials for 5 minutes, so an overlap shorter than this could cut them off. */
export const MIN_OVERLAP_IN_MS = 15 * 60_000;
