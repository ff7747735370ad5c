import { type ContainerClient } from "@azure/storage-blob";
import { formatSequence } from "../../core/audit/ChainEntry.js";
import { type CheckpointKeyPin, isCheckpointKeyPin, type StoredKeyPin } from "../../core/audit/checkpointKeyPin.js";
import { type CheckpointKeyPins, type KeyPinOptions } from "../../core/audit/CheckpointKeyPins.js";
import { once } from "../azure/azureErrors.js";
import { putJsonOnce } from "./putJsonOnce.js";

/** No chain can be called this (chain ids are project ids, lower-case, or `_system`). */
const PREFIX = "_key-pins/";

/**
 * Pinned checkpoint-signing key versions as blobs `_key-pins/<12-digit index>.json` in the checkpoint
 * container, written with If-None-Match: * — so in Azure the container's locked immutability policy keeps
 * them as it keeps the notes: the app's identity can add a pin, never change or remove one.
 */
export class BlobCheckpointKeyPins implements CheckpointKeyPins {
  private readonly ready = once(() => (this.options.createContainerIfMissing === false ? Promise.resolve() : this.container.createIfNotExists()));

  constructor(
    private readonly container: ContainerClient,
    private readonly options: { readonly createContainerIfMissing?: boolean } = {},
  ) {}

  static blobName(index: number): string {
    return `${PREFIX}${formatSequence(index)}.json`;
  }

  async put(pin: CheckpointKeyPin, options: KeyPinOptions = {}): Promise<"stored" | "exists"> {
    await this.ready();
    return putJsonOnce(this.container.getBlockBlobClient(BlobCheckpointKeyPins.blobName(pin.index)), pin, options);
  }

  async *list(options: KeyPinOptions = {}): AsyncIterable<StoredKeyPin> {
    await this.ready();
    const names: string[] = [];
    for await (const item of this.container.listBlobsFlat({ prefix: PREFIX, abortSignal: options.abortSignal })) names.push(item.name);
    for (const name of names.sort()) {
      const match = /^_key-pins\/(\d{12})\.json$/.exec(name);
      const index = match?.[1] === undefined ? null : Number(match[1]);
      if (index === null) {
        yield { index: null, unreadable: `${name} is not a key pin name` };
        continue;
      }
      const text = (await this.container.getBlockBlobClient(name).downloadToBuffer(undefined, undefined, { abortSignal: options.abortSignal })).toString("utf8");
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        yield { index, unreadable: `${name} is not JSON (truncated or corrupted)` };
        continue;
      }
      if (!isCheckpointKeyPin(value)) yield { index, unreadable: `${name} is not a key pin (a field is missing or malformed)` };
      else if (value.index !== index) yield { index, unreadable: `${name} holds the pin of index ${value.index}` };
      else yield { index, pin: value };
    }
  }
}
