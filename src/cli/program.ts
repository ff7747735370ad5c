import { Command } from "commander";
import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { AuditEventFactory } from "../core/audit/AuditEventFactory.js";
import { CliServices } from "../composition/cliServices.js";
import { CounterUsageReader } from "../core/limits/UsageReader.js";
import { TableUsageCounterStore } from "../adapters/tables/TableUsageCounterStore.js";
import { TABLES } from "../composition/storage.js";
import { createAuditCommand } from "./commands/audit.js";
import { createComplianceCommand } from "./commands/compliance.js";
import { createCredentialsCommand } from "./commands/credentials.js";
import { createDevCommand } from "./commands/dev.js";
import { createDlpCommand } from "./commands/dlp.js";
import { createDsrCommand } from "./commands/dsr.js";
import { createHostCommand } from "./commands/host.js";
import { createKeysCommand } from "./commands/keys.js";
import { createPolicyCommand } from "./commands/policy.js";
import { createUsageCommand } from "./commands/usage.js";

export interface ProgramIo {
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

/** Who runs an operator command, for audit events: `PALISADE_OPERATOR`, else user@host. */
export function operatorName(environment: Readonly<Record<string, string | undefined>>): string {
  const named = environment.PALISADE_OPERATOR?.trim();
  if (named) return named;
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `uid-unknown@${hostname()}`;
  }
}

/** The `palisade` operator command. It reads the same settings as the app (the variables `npm start` prints). */
export function createProgram(io: ProgramIo, services: CliServices = new CliServices(io.environment ?? process.env)): Command {
  const program = new Command("palisade")
    .description("Operate Palisade, the governed-completion gateway: policy, keys, DLP, audit, usage.")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });

  program.addCommand(createPolicyCommand(io));
  program.addCommand(
    createKeysCommand({
      getApiKeyService: () => services.apiKeyService(),
      getPolicy: async () => (await services.policy()).policy,
      getAudit: async () => {
        const [audit, policy] = await Promise.all([services.audit(), services.policy()]);
        return {
          events: new AuditEventFactory({ clock: { nowInMs: () => Date.now() }, newEventId: randomUUID, policyVersion: policy.version }),
          operator: operatorName(io.environment ?? process.env),
          publish: (project, events) => audit.publisherFor(policy.policy.projects.find((candidate) => candidate.id === project)?.auditOnPublishFailure ?? "fail_closed").publish(events),
        };
      },
      ...io,
    }),
  );
  program.addCommand(
    createUsageCommand({
      getUsageReader: async () => new CounterUsageReader(new TableUsageCounterStore(services.storage().table(TABLES.usage))),
      stdout: io.stdout,
      stderr: io.stderr,
    }),
  );
  program.addCommand(
    createCredentialsCommand({
      getServices: async () => (await import("../composition/rotation.js")).getRotationServices(),
      operator: operatorName(io.environment ?? process.env),
      stdout: io.stdout,
      stderr: io.stderr,
    }),
  );
  program.addCommand(createDevCommand({ stdout: io.stdout, stderr: io.stderr, environment: io.environment ?? process.env }));
  program.addCommand(createDlpCommand({ stdin: io.stdin ?? process.stdin, stdout: io.stdout, stderr: io.stderr }));
  program.addCommand(createAuditCommand({ getAuditComponents: () => services.audit(), stdout: io.stdout, stderr: io.stderr }));
  program.addCommand(
    createComplianceCommand({ getNightly: async () => (await import("../composition/compliance.js")).complianceNightlyForCli(services), stdout: io.stdout, stderr: io.stderr }),
  );
  program.addCommand(
    createDsrCommand({ getRequests: async () => (await import("../composition/compliance.js")).dataSubjectRequestsForCli(services), stdin: io.stdin ?? process.stdin, stdout: io.stdout, stderr: io.stderr }),
  );
  program.addCommand(
    createHostCommand({
      stderr: io.stderr,
      startHost: async (options) => {
        await import("../../local/quietTestModeWarnings.js");
        // The app's services start building first, so their connections (Service Bus, Key Vault, the
        // tables) open while the host's own modules load and it starts listening; the first request
        // awaits the same build. A failure here is the first request's to report (it builds again).
        void import("../composition/services.js")
          .then(({ getAppServices }) => getAppServices())
          .catch((error: unknown) => io.stderr.write(`palisade host: the app's services did not start (${error instanceof Error ? error.message : String(error)}); each request tries again\n`));
        const [{ startLocalHost }, { loadFunctionDefinitions }, { exitOnUncaughtError }] = await Promise.all([
          import("../../local/host/index.js"),
          import("../../local/loadFunctionDefinitions.js"),
          import("../../local/host/exitOnUncaughtError.js"),
        ]);
        exitOnUncaughtError();
        const host = await startLocalHost({ definitions: await loadFunctionDefinitions(), ...options });
        return {
          url: host.url,
          async stop(drainInMs) {
            // Streams in flight finish (and are audited) before the instance goes.
            await host.stop({ drainInMs });
            const { closeAppServices } = await import("../composition/appServices.js");
            await closeAppServices();
          },
        };
      },
    }),
  );
  return program;
}
