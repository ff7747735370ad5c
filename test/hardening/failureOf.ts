import { APIError } from "openai";
import { expect } from "vitest";

/** The SDK's error a call ended with (it must be an `APIError`); null when it succeeded. */
export async function failureOf(promise: Promise<unknown>): Promise<APIError | null> {
  return promise.then(
    () => null,
    (error: unknown) => {
      expect(error).toBeInstanceOf(APIError);
      return error as APIError;
    },
  );
}
