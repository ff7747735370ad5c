/** The HTTP status of an SDK error, checked by shape (not instanceof) across package copies. */
export function statusCodeOf(error: unknown): number | undefined {
  if (typeof error === "object" && error !== null && "statusCode" in error) {
    const { statusCode } = error;
    return typeof statusCode === "number" ? statusCode : undefined;
  }
  return undefined;
}

/** Creates the table once per client; an existing table is fine. */
export async function ensureTable(createTable: () => Promise<void>): Promise<void> {
  try {
    await createTable();
  } catch (error) {
    if (statusCodeOf(error) !== 409) throw error;
  }
}

/**
 * Runs `create` on first call and shares its promise with every later call; a failure is forgotten,
 * so the next call tries again. For "create the table (or container) on first use".
 */
export function once(create: () => Promise<unknown>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => {
    done ??= create().then(
      () => undefined,
      (error: unknown) => {
        done = null;
        throw error;
      },
    );
    return done;
  };
}
