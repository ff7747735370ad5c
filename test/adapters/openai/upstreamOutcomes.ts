import { isUpstreamError, type UpstreamError } from "../../../src/core/upstream/CompletionProvider.js";

/** The UpstreamError a provider call rejected with; fails the test if it resolved or threw something else. */
export async function upstreamErrorOf(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!isUpstreamError(error)) throw new Error(`expected an UpstreamError, got ${String(error)}`);
  return error;
}

/** Every item of a provider's stream, read to its end. */
export async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}
