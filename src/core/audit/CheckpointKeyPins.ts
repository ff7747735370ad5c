import { type CheckpointKeyPin, type StoredKeyPin } from "./checkpointKeyPin.js";

export interface KeyPinOptions {
  readonly abortSignal?: AbortSignal;
}

/**
 * Where the pinned checkpoint-signing key versions are kept: beside the checkpoints, out of the chain
 * writer's reach (Azure: the same container under its locked immutability policy). Write-once: a second
 * put at the same index returns `exists` and leaves the first in place.
 */
export interface CheckpointKeyPins {
  put(pin: CheckpointKeyPin, options?: KeyPinOptions): Promise<"stored" | "exists">;
  /** Every stored pin, readable or not, by index ascending. */
  list(options?: KeyPinOptions): AsyncIterable<StoredKeyPin>;
}
