/**
 * A value built on first use, once (a failure is not kept: the next call tries again). For adapters
 * whose SDK only some paths need: the SDK is imported when one is taken, not when the app starts.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | null = null;
  return () =>
    (value ??= load().catch((error: unknown) => {
      value = null;
      throw error;
    }));
}
