import { checkpointNoteText, type SignedCheckpoint } from "./checkpointNote.js";
import { type SignatureVerifier } from "./SignatureVerifier.js";

/** The checkpoint's signature over its note, rebuilt from its fields (a stored copy of the text is never trusted). */
export async function isCheckpointSigned(checkpoint: SignedCheckpoint, verifier: SignatureVerifier): Promise<boolean> {
  return verifier.verify({
    keyId: checkpoint.keyId,
    message: Buffer.from(checkpointNoteText(checkpoint), "utf8"),
    signature: Buffer.from(checkpoint.signature, "base64"),
  });
}
