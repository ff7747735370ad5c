/**
 * Runs `work` and counts the turns of the event loop that passed meanwhile (a ticker on setImmediate):
 * work that never yields lets none through, so a test can tell sliced work from one long turn.
 */
export async function loopTurnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    if (!ticking) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    const result = await work();
    return { result, turns };
  } finally {
    ticking = false;
  }
}
