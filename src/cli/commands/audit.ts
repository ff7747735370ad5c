import { Command, CommanderError, InvalidArgumentError } from "commander";
import { type AuditComponents } from "../../composition/audit.js";
import { countAuditBacklogs } from "../../core/audit/auditBacklog.js";
import { AuditProofMismatchError, checkAuditInclusionProof, proveAuditEvent } from "../../core/audit/inclusionProof.js";
import { describeTrustUsed } from "../../core/audit/checkpointTrustUsed.js";
import { queryAuditEvents } from "../../core/audit/queryAuditEvents.js";
import { verifyStoredChain } from "../../core/audit/verifyStoredChain.js";
import { addAuditTrustCommands } from "./auditTrustCommands.js";
import { chooseCheckpointTrust, type ChosenTrust, KEY_VAULT_TRUST_WARNING, TRUST_OPTION_HELP, type TrustOptions, TrustRefusedError } from "./auditTrust.js";

export interface AuditCommandDeps {
  readonly getAuditComponents: () => Promise<AuditComponents>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Exit code when the chain (or a proof) fails verification, distinct from 1 (could not run). */
export const EXIT_TAMPERED = 2;
/** Exit code when the chain is intact but events meant for it are still outside it (outbox, dead letters). */
export const EXIT_INCOMPLETE = 3;

const positiveInt = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError("use a positive whole number");
  return parsed;
};

const isoTimestamp = (value: string): string => {
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError("use an ISO 8601 date or timestamp, such as 2026-01-31 or 2026-01-31T12:00:00Z");
  }
  return value;
};

/**
 * `palisade audit verify|checkpoint|prove|chains|query`. Actions never exit the process: failures
 * write one line to stderr and reject with a CommanderError (exit code 1, or 2 when the chain or a
 * proof is not intact); the caller sets the process exit code.
 */
export function createAuditCommand(deps: AuditCommandDeps): Command {
  const out = (text: string): void => {
    deps.stdout.write(text);
  };
  const audit = new Command("audit")
    .description("Verify, checkpoint, prove and query the tamper-evident audit chains")
    .configureOutput({ writeOut: out, writeErr: (text) => deps.stderr.write(text) })
    .exitOverride();

  const run =
    <A extends unknown[]>(action: (components: AuditComponents, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      let components: AuditComponents | undefined;
      try {
        components = await deps.getAuditComponents();
        await action(components, ...args);
      } catch (error) {
        if (error instanceof CommanderError) throw error;
        audit.error(`error: ${error instanceof Error ? error.message : String(error)}`, { exitCode: 1, code: "palisade.audit.failed" });
      } finally {
        await components?.close();
      }
    };
  const tampered = (message: string): never => audit.error(`error: ${message}`, { exitCode: EXIT_TAMPERED, code: "palisade.audit.tampered" });
  const json = (value: unknown): void => out(`${JSON.stringify(value)}\n`);
  /** The trust a verification uses; broken or unexpected pins are tampering (exit 2). The opt-out warns on stderr. */
  const trustFor = async (c: AuditComponents, options: TrustOptions): Promise<ChosenTrust> => {
    let chosen: ChosenTrust;
    try {
      chosen = await chooseCheckpointTrust(c, options);
    } catch (error) {
      if (error instanceof TrustRefusedError) return tampered(`${error.message}. See docs/runbooks/audit-verification-failure.md`);
      throw error;
    }
    if (chosen.used.mode === "key_vault") deps.stderr.write(KEY_VAULT_TRUST_WARNING);
    return chosen;
  };

  audit
    .command("verify")
    .description("Recompute every hash, link and checkpoint of a chain; exit 0 only when intact")
    .requiredOption("--chain <id>", "chain id (the project id)")
    .option("--trusted-keys <file>", TRUST_OPTION_HELP.trustedKeys)
    .option("--trust-root <thumbprint>", TRUST_OPTION_HELP.trustRoot)
    .option("--trust-key-vault", TRUST_OPTION_HELP.trustKeyVault)
    .option("--json", "print JSON")
    .action(
      run(async (c, options: { chain: string; json?: boolean } & TrustOptions) => {
        const tty = deps.stderr.isTTY === true;
        const trust = await trustFor(c, options);
        const { signatureVerifier, trustedKeyIds } = trust;
        const result = await verifyStoredChain({ ledger: c.ledger, anchor: c.anchor, signatureVerifier, ...(trustedKeyIds === undefined ? {} : { trustedKeyIds }) }, options.chain, {
          ...(tty ? { onProgress: (n: number) => deps.stderr.write(`\rverified ${n} entries...`) } : {}),
        });
        if (tty && result.entriesChecked >= 10_000) deps.stderr.write("\n");
        const { leaves: _leaves, ...verdict } = result;
        // Intact is not the same as complete: events may still wait in the outbox or the dead letters.
        const backlog = (await countAuditBacklogs({ ledger: c.ledger, outbox: c.outbox, deadLetters: c.deadLetters, deadLetterQueue: c.deadLetterQueue }))(options.chain);
        const printable = { ...verdict, complete: result.intact && backlog.complete, pending: backlog, trust: trust.used };
        const missing = result.intact && result.entriesChecked === 0 && printable.checkpointsChecked === 0 && (await c.ledger.getHead(options.chain)) === null;
        if (options.json === true) json(printable);
        else {
          out(`${result.message}\n${describeTrustUsed(trust.used)}\n`);
          if (!backlog.complete) {
            out(`NOT complete: ${backlog.outbox} event(s) in the outbox, ${backlog.deadLetterQueue ?? "unknown (could not read)"} in the broker's dead-letter queue, ${backlog.deadLetterStore} in the dead-letter store\n`);
          }
        }
        if (missing) audit.error(`error: there is no chain ${options.chain} (no head, no entries, no checkpoints): check the chain id`, { exitCode: 1, code: "palisade.audit.no_chain" });
        if (!result.intact) {
          const at = result.firstBadSequence === undefined ? `checkpoint of size ${result.checkpointSize ?? "?"}` : `sequence ${result.firstBadSequence}`;
          tampered(`chain ${options.chain} is NOT intact: ${result.problem ?? "unknown"} at ${at}. ${result.message}`);
        }
        if (!backlog.complete) {
          audit.error(`error: chain ${options.chain} is intact but NOT complete: events are pending (see docs/runbooks/audit-dead-letters.md)`, {
            exitCode: EXIT_INCOMPLETE,
            code: "palisade.audit.incomplete",
          });
        }
      }),
    );

  audit
    .command("replay-dead-letters")
    .description("Send what Service Bus dead-lettered on the audit queue back to it (the chain deduplicates)")
    .option("--max <n>", "at most this many messages", (v) => positiveInt(v), 5_000)
    .option("--max-replays <n>", "leave a message replayed this often in the dead-letter queue", (v) => positiveInt(v), 5)
    .option("--json", "print JSON")
    .action(
      run(async (c, options: { max: number; maxReplays: number; json?: boolean }) => {
        const result = await c.replayDeadLetters({ maxMessages: options.max, maxReplays: options.maxReplays });
        if (options.json === true) json(result);
        else out(`replayed ${result.replayed} message(s) to the audit queue; ${result.kept} left in the dead-letter queue (replayed too often)\n`);
      }),
    );

  audit
    .command("checkpoint")
    .description("Sign a checkpoint (Merkle tree head) over a chain now and anchor it")
    .requiredOption("--chain <id>", "chain id (the project id)")
    .option("--json", "print JSON")
    .action(
      run(async (c, options: { chain: string; json?: boolean }) => {
        const checkpoint = await c.checkpointer.checkpoint(options.chain);
        if (options.json === true) json(checkpoint);
        else out(`checkpoint ${checkpoint.origin} size ${checkpoint.size} root ${checkpoint.rootHash} signed by ${checkpoint.keyId} at ${checkpoint.timestamp}\n`);
      }),
    );

  audit
    .command("prove")
    .description("Print and check an RFC 6962 inclusion proof of one event")
    .requiredOption("--event <id>", "event id")
    .option("--chain <id>", "chain id (searched in every chain when absent)")
    .option("--trusted-keys <file>", TRUST_OPTION_HELP.trustedKeys)
    .option("--trust-root <thumbprint>", TRUST_OPTION_HELP.trustRoot)
    .option("--trust-key-vault", TRUST_OPTION_HELP.trustKeyVault)
    .option("--json", "print JSON")
    .action(
      run(async (c, options: { event: string; chain?: string; json?: boolean } & TrustOptions) => {
        let proof;
        try {
          proof = await proveAuditEvent({ ledger: c.ledger, anchor: c.anchor }, options.event, options.chain);
        } catch (error) {
          if (error instanceof AuditProofMismatchError) return tampered(`${error.message} Run "palisade audit verify".`);
          throw error;
        }
        const trust = await trustFor(c, options);
        const signer = proof.checkpoint?.keyId;
        if (signer !== undefined && trust.trustedKeyIds !== undefined && !trust.trustedKeyIds.has(signer)) {
          return tampered(`the checkpoint backing this proof is signed by key version ${signer}, which is not trusted (untrusted_key): it may have been re-signed with a key added to the vault.`);
        }
        const check = await checkAuditInclusionProof(proof, trust.signatureVerifier);
        if (options.json === true) json({ proof, check, trust: trust.used });
        else {
          out(`event ${proof.eventId} is entry ${proof.sequence} of chain ${proof.chainId}\n`);
          out(`leaf ${proof.leafHash}\ntree size ${proof.treeSize} root ${proof.rootHash}${proof.checkpoint === undefined ? " (not yet checkpointed)" : " (signed checkpoint)"}\n`);
          proof.path.forEach((hash, i) => out(`path[${i}] ${hash}\n`));
          out(`${check.message}\n${describeTrustUsed(trust.used)}\n`);
        }
        if (!check.valid) tampered(`the inclusion proof does not hold: ${check.problem ?? "unknown"} at sequence ${check.sequence}. ${check.message}`);
        if (!check.signed) {
          audit.error(`error: event ${proof.eventId} is in the chain, but no signed checkpoint covers it yet (or its checkpoint was removed): the proof is not evidence. Run "palisade audit checkpoint" and prove again.`, {
            exitCode: EXIT_INCOMPLETE,
            code: "palisade.audit.unsigned_proof",
          });
        }
      }),
    );

  addAuditTrustCommands(audit, { run, out, json });

  audit
    .command("chains")
    .description("List chains with their size and last signed checkpoint")
    .option("--json", "print JSON lines")
    .action(
      run(async (c, options: { json?: boolean }) => {
        let any = false;
        for await (const head of c.ledger.listChains()) {
          any = true;
          const latest = await c.anchor.getLatest(head.chainId);
          const row = {
            chainId: head.chainId,
            size: head.size,
            lastHash: head.lastHash,
            updatedAt: head.updatedAt,
            lastCheckpoint: latest === null ? null : { size: latest.size, rootHash: latest.rootHash, timestamp: latest.timestamp },
          };
          if (options.json === true) json(row);
          else out(`${row.chainId}  size ${row.size}  last checkpoint ${latest === null ? "none" : `${latest.size} at ${latest.timestamp}`}\n`);
        }
        if (!any && options.json !== true) out("no chains\n");
      }),
    );

  audit
    .command("query")
    .description("Print matching events as JSON lines")
    .option("--chain <id>", "one chain (default: all)")
    .option("--type <type>", "event type, such as api_call")
    .option("--actor <id>", "actor id")
    .option("--since <iso>", "events at or after", isoTimestamp)
    .option("--until <iso>", "events before", isoTimestamp)
    .option("--json", "JSON lines (the only format)")
    .action(
      run(async (c, options: { chain?: string; type?: string; actor?: string; since?: string; until?: string }) => {
        const filter = {
          ...(options.chain === undefined ? {} : { chainId: options.chain }),
          ...(options.type === undefined ? {} : { type: options.type }),
          ...(options.actor === undefined ? {} : { actorId: options.actor }),
          ...(options.since === undefined ? {} : { since: options.since }),
          ...(options.until === undefined ? {} : { until: options.until }),
        };
        for await (const event of queryAuditEvents(c.ledger, filter)) json(event);
      }),
    );

  return audit;
}
