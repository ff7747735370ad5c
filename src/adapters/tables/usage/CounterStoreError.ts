/** The store gave up: the rows kept changing under it, or the service failed. */
export class CounterStoreError extends Error {
  override readonly name = "CounterStoreError";
}
