import { type EventSourceMessage, createParser } from "eventsource-parser";
import { type EndpointPolicy } from "../../core/policy/schema.js";
import { type StreamedAnswer } from "./upstreamHttpClient.js";
import { streamedError, toUpstreamError } from "./toUpstreamError.js";

/** The most text one event may buffer: a Responses `response.completed` event repeats the whole answer. */
const MAX_EVENT_CHARS = 32 * 1024 * 1024;

/**
 * The JSON events of an SSE answer, as the openai SDK's `Stream` yielded them: each `data:` parsed,
 * nothing after `[DONE]` (the rest of the body is still read, so the connection is reused), and an
 * event carrying `error` ends the stream with that error. Failures are `UpstreamError`s: a broken or
 * unparseable stream is the connection's; the caller aborting ends it quietly.
 *
 * Returning the iterator — also before the first `next()`, which an async generator alone would
 * ignore — closes a connection whose answer was not read to its end.
 */
export function upstreamEventStream<Event>(answer: StreamedAnswer, endpoint: EndpointPolicy): AsyncIterable<Event> {
  const events = parsedEvents<Event>(answer, endpoint);
  const iterator: AsyncIterableIterator<Event> = {
    next: () => events.next(),
    return: async (): Promise<IteratorResult<Event>> => {
      answer.close();
      await events.return(undefined);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

async function* parsedEvents<Event>(answer: StreamedAnswer, endpoint: EndpointPolicy): AsyncGenerator<Event, undefined> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({
    onEvent: (message) => void pending.push(message),
    onError: (error) => {
      // An unknown field or a bad `retry` is ignored as EventSource does; an overlong event breaks the stream (thrown out of `feed`).
      if (error.type === "max-buffer-size-exceeded") throw error;
    },
    maxBufferSize: MAX_EVENT_CHARS,
  });
  let done = false;
  try {
    for await (const text of answer.text) {
      parser.feed(text);
      for (let index = 0; index < pending.length; index += 1) {
        const message = pending[index];
        if (done || message === undefined) continue;
        if (message.data.startsWith("[DONE]")) {
          done = true;
          continue;
        }
        const data = JSON.parse(message.data) as { error?: unknown } | null;
        if (data?.error) throw streamedError(endpoint, data.error);
        yield data as Event;
      }
      pending.length = 0;
    }
  } catch (error) {
    throw toUpstreamError(error, endpoint, "connection");
  } finally {
    answer.close();
  }
  return undefined;
}
