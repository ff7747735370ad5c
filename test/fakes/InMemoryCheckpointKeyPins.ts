import { type CheckpointKeyPin, isCheckpointKeyPin, type StoredKeyPin } from "../../src/core/audit/checkpointKeyPin.js";
import { type CheckpointKeyPins } from "../../src/core/audit/CheckpointKeyPins.js";

export class InMemoryCheckpointKeyPins implements CheckpointKeyPins {
  /** index -> what is stored. Tests may reach in to play an attacker with write access (unknown: any JSON). */
  readonly stored = new Map<number, unknown>();

  async put(pin: CheckpointKeyPin): Promise<"stored" | "exists"> {
    if (this.stored.has(pin.index)) return "exists";
    this.stored.set(pin.index, structuredClone(pin));
    return "stored";
  }

  async *list(): AsyncIterable<StoredKeyPin> {
    for (const index of [...this.stored.keys()].sort((a, b) => a - b)) {
      const value = this.stored.get(index);
      if (isCheckpointKeyPin(value) && value.index === index) yield { index, pin: structuredClone(value) };
      else yield { index, unreadable: `pin ${index} is not a key pin` };
    }
  }
}
