import { type ContainerClient } from "@azure/storage-blob";
import { type AnchoredNote, type AnchorOptions, type CheckpointAnchor, type PutCheckpointResult } from "../../core/audit/CheckpointAnchor.js";
import { isSignedCheckpoint, type SignedCheckpoint } from "../../core/audit/checkpointNote.js";
import { formatSequence } from "../../core/audit/ChainEntry.js";
import { once } from "../azure/azureErrors.js";
import { putJsonOnce } from "./putJsonOnce.js";

export interface BlobCheckpointAnchorOptions {
  /** Create the container on first use (default true; in Azure infra creates it with its immutability policy). */
  readonly createContainerIfMissing?: boolean;
}

/**
 * Signed checkpoints as blobs `<chain>/<12-digit size>.json`, written with If-None-Match: * so a
 * checkpoint is never overwritten. In Azure the container carries a locked time-based immutability
 * policy (set by infra), so not even the app's own identity can change or delete a note.
 */
export class BlobCheckpointAnchor implements CheckpointAnchor {
  /** Creates the container on first use (unless told not to); retried after a failure. */
  private readonly ready = once(() => (this.options.createContainerIfMissing === false ? Promise.resolve() : this.container.createIfNotExists()));

  constructor(
    private readonly container: ContainerClient,
    private readonly options: BlobCheckpointAnchorOptions = {},
  ) {}

  static blobName(chainId: string, size: number): string {
    return `${chainId}/${formatSequence(size)}.json`;
  }

  async put(checkpoint: SignedCheckpoint, options: AnchorOptions = {}): Promise<PutCheckpointResult> {
    await this.ready();
    return putJsonOnce(this.container.getBlockBlobClient(BlobCheckpointAnchor.blobName(checkpoint.origin, checkpoint.size)), checkpoint, options);
  }

  private async names(chainId: string, options: AnchorOptions): Promise<string[]> {
    await this.ready();
    const names: string[] = [];
    for await (const item of this.container.listBlobsFlat({ prefix: `${chainId}/`, abortSignal: options.abortSignal })) {
      if (/\/\d{12}\.json$/.test(item.name)) names.push(item.name);
    }
    return names.sort();
  }

  private async read(name: string, chainId: string, options: AnchorOptions): Promise<SignedCheckpoint | null> {
    const note = await this.readNote(name, chainId, options);
    return "checkpoint" in note ? note.checkpoint : null;
  }

  private async readNote(name: string, chainId: string, options: AnchorOptions): Promise<AnchoredNote> {
    const size = Number(/(\d{12})\.json$/.exec(name)?.[1] ?? Number.NaN);
    const claimed = Number.isInteger(size) ? size : null;
    const buffer = await this.container.getBlockBlobClient(name).downloadToBuffer(undefined, undefined, { abortSignal: options.abortSignal });
    let value: unknown;
    try {
      value = JSON.parse(buffer.toString("utf8"));
    } catch {
      return { size: claimed, unreadable: `${name} is not JSON (truncated or corrupted)` };
    }
    // A note is only taken for the chain and size its name claims.
    if (!isSignedCheckpoint(value)) return { size: claimed, unreadable: `${name} is not a signed checkpoint (a field is missing or malformed)` };
    if (value.origin !== chainId || BlobCheckpointAnchor.blobName(chainId, value.size) !== name) return { size: claimed, unreadable: `${name} holds the checkpoint of another chain or size` };
    return { size: value.size, checkpoint: value };
  }

  async *listNotes(chainId: string, options: AnchorOptions = {}): AsyncIterable<AnchoredNote> {
    for (const name of await this.names(chainId, options)) yield await this.readNote(name, chainId, options);
  }

  async *list(chainId: string, options: AnchorOptions = {}): AsyncIterable<SignedCheckpoint> {
    for (const name of await this.names(chainId, options)) {
      const checkpoint = await this.read(name, chainId, options);
      if (checkpoint !== null) yield checkpoint;
    }
  }

  async getLatest(chainId: string, options: AnchorOptions = {}): Promise<SignedCheckpoint | null> {
    const names = await this.names(chainId, options);
    for (const name of names.reverse()) {
      const checkpoint = await this.read(name, chainId, options);
      if (checkpoint !== null) return checkpoint;
    }
    return null;
  }
}
