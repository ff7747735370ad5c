import { type ProblemKind } from "./verifyChain.js";

/** Raised when the chain or its checkpoints fail a check and an operation (signing) must not go on. */
export class AuditIntegrityError extends Error {
  override readonly name = "AuditIntegrityError";
  constructor(
    readonly problem: ProblemKind | "no_chain" | "checkpoint_conflict",
    message: string,
    readonly firstBadSequence?: number,
  ) {
    super(message);
  }
}

export function isAuditIntegrityError(value: unknown): value is AuditIntegrityError {
  return value instanceof Error && value.name === "AuditIntegrityError" && "problem" in value;
}
