import { type Clock } from "../core/clock.js";

/** The process's wall clock: the one place outside tests that composition reads the time from. */
export const systemClock: Clock = { nowInMs: () => Date.now() };
