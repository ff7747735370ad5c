import { startAzurite } from "../../local/azurite.js";

/**
 * Azurite alone in its own process, for benchmarks that measure a storage client: in Azure, Table
 * Storage is another machine, so its CPU must not be billed to the client under test. Prints ONE
 * JSON line `{"connectionString"}` once it serves; stops on SIGTERM or when stdin closes.
 */
async function main(): Promise<void> {
  const azurite = await startAzurite();
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await azurite.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.stdin.on("end", () => void stop());
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ connectionString: azurite.connectionString })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`azurite bench server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
