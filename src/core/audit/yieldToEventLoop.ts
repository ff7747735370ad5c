/**
 * Resolves on the event loop's next turn (after pending I/O callbacks), not in a microtask: long work
 * that awaits this between slices lets the HTTP requests that arrived meanwhile run in between.
 */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
