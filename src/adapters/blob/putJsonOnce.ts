import { type BlockBlobClient } from "@azure/storage-blob";
import { statusCodeOf } from "../azure/azureErrors.js";

/**
 * Writes a JSON blob only if no blob has that name (If-None-Match: *): checkpoints and key pins are
 * write-once, and under the container's immutability policy a second writer must not replace them.
 */
export async function putJsonOnce(blob: BlockBlobClient, value: unknown, options: { readonly abortSignal?: AbortSignal } = {}): Promise<"stored" | "exists"> {
  const body = JSON.stringify(value);
  try {
    await blob.upload(body, Buffer.byteLength(body), {
      conditions: { ifNoneMatch: "*" },
      blobHTTPHeaders: { blobContentType: "application/json" },
      abortSignal: options.abortSignal,
    });
    return "stored";
  } catch (error) {
    const status = statusCodeOf(error);
    if (status === 409 || status === 412) return "exists";
    throw error;
  }
}
