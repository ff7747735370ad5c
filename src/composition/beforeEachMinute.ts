import { type Clock } from "../core/clock.js";
import { MINUTE_IN_MS, msUntilNextMinute } from "../core/limits/windows.js";

/** A timer that fired up to this much early still counts as this minute's: it is not run again. */
const EARLY_SLACK_IN_MS = 250;

/**
 * Runs `run` `aheadInMs` before each UTC minute boundary of `clock` until stopped. Re-armed from the
 * clock after each run, so it does not drift; a start inside the moment skips to the next minute.
 * The timer does not keep the process alive.
 */
export function beforeEachMinute(clock: Clock, aheadInMs: number, run: () => void): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    const delayInMs = msUntilNextMinute(clock.nowInMs()) - aheadInMs;
    timer = setTimeout(
      () => {
        if (stopped) return;
        run();
        arm();
      },
      delayInMs > EARLY_SLACK_IN_MS ? delayInMs : delayInMs + MINUTE_IN_MS,
    );
    timer.unref();
  };
  arm();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
