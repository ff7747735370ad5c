import { DAY_IN_MS, ISSUER_KINDS, type ManagedCredential } from "../../core/rotation/managedCredential.js";
import { registerCredential } from "../../core/rotation/registerCredential.js";
import { type CommandGroup } from "../commandGroup.js";
import { type Clock } from "../../core/clock.js";
import { type CredentialsCommandDeps } from "./credentials.js";
import { parseDuration } from "./keys.js";
import { MIN_OVERLAP_IN_MS } from "./credentialsTime.js";

/** An issuer that can read an Azure account's keys (the register path for a slot already in use). */
interface KeyLister {
  listKeys(credential: ManagedCredential): Promise<{ key1: string; key2: string }>;
}
const canListKeys = (issuer: unknown): issuer is KeyLister => typeof issuer === "object" && issuer !== null && "listKeys" in issuer && typeof issuer.listKeys === "function";

async function readAll(stream: AsyncIterable<string | Buffer>): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text.replace(/\r?\n$/, "");
}

/** `palisade credentials register`: puts a credential under management (its first Key Vault version). */
export function addRegisterCommand({ command, run, fail }: CommandGroup, deps: CredentialsCommandDeps, clock: Clock): void {
  command
    .command("register")
    .description("Put a credential under management: writes its first Key Vault version, tagged current (see docs/rotation.md)")
    .requiredOption("--name <name>", "Key Vault secret name (letters, digits, dashes)")
    .requiredOption("--issuer <kind>", `who issues it: ${ISSUER_KINDS.join(", ")}`)
    .requiredOption("--project <id>", "policy project id")
    .requiredOption("--target <ref>", "azure-openai: the account's ARM id; openai: <projectId>/<service account name>; palisade: the service account id")
    .option("--environment <name>", "environment tag", "default")
    .option("--deployment <name>", "azure-openai: a chat deployment to verify new keys against")
    .option("--rotation-period <days>", "rotate every (30d..365d, whole days)", "30d")
    .option("--overlap <duration>", "how long the previous credential stays valid after a rotation (at least 15m)", "24h")
    .option("--slot <slot>", "azure-openai: the key slot in use today (Key1 or Key2); its value is read through ARM")
    .option("--value-stdin", "read the value in use today from stdin instead of minting or reading one")
    .option("--issuer-key-id <id>", "with --value-stdin: the issuer's id of that value (service account id, key id)")
    .option("--json", "print JSON")
    .action(
      run(async (options: {
        name: string;
        issuer: string;
        project: string;
        target: string;
        environment: string;
        deployment?: string;
        rotationPeriod: string;
        overlap: string;
        slot?: string;
        valueStdin?: boolean;
        issuerKeyId?: string;
        json?: boolean;
      }) => {
        const issuerKind = ISSUER_KINDS.find((kind) => kind === options.issuer);
        if (issuerKind === undefined) return fail(`--issuer must be one of ${ISSUER_KINDS.join(", ")}.`);
        const periodInMs = parseDuration(options.rotationPeriod);
        if (periodInMs === null || periodInMs % DAY_IN_MS !== 0) return fail(`--rotation-period "${options.rotationPeriod}" must be whole days, such as 30d.`);
        const overlapInMs = parseDuration(options.overlap);
        if (overlapInMs === null || overlapInMs < MIN_OVERLAP_IN_MS) {
          return fail(`--overlap "${options.overlap}" must be at least 15m: readers cache credentials for 5 minutes.`);
        }
        if (options.slot !== undefined && options.slot !== "Key1" && options.slot !== "Key2") return fail("--slot must be Key1 or Key2.");
        if (issuerKind === "azure-openai" && options.slot === undefined) return fail("azure-openai credentials need --slot (the key slot in use today).");
        const credential: ManagedCredential = {
          id: options.name,
          issuer: issuerKind,
          project: options.project,
          environment: options.environment,
          target: options.target,
          deployment: options.deployment ?? null,
          rotationPeriodInDays: periodInMs / DAY_IN_MS,
          overlapInMs,
        };
        const services = await deps.getServices();
        if (services.secrets === null) return fail("No Key Vault is configured: set AZURE_KEYVAULT_URL.");
        const issuer = services.issuers[issuerKind] ?? null;
        let existing: { value: string; issuerKeyId: string; slot: string | null } | undefined;
        if (options.valueStdin === true) {
          const value = await readAll(deps.stdin ?? process.stdin);
          if (value === "") return fail("--value-stdin read nothing.");
          const issuerKeyId = options.slot ?? options.issuerKeyId;
          if (issuerKeyId === undefined) return fail("--value-stdin needs --issuer-key-id (or --slot for azure-openai), so the value can be revoked later.");
          existing = { value, issuerKeyId, slot: options.slot ?? null };
        } else if (issuerKind === "azure-openai") {
          if (!canListKeys(issuer)) return fail("No Azure OpenAI issuer is configured to read the keys; use --value-stdin.");
          const keys = await issuer.listKeys(credential);
          existing = { value: options.slot === "Key2" ? keys.key2 : keys.key1, issuerKeyId: options.slot ?? "Key1", slot: options.slot ?? "Key1" };
        }
        const stored = await registerCredential(
          { secrets: services.secrets, issuer, audit: services.audit, clock, newId: services.newId, policyVersion: services.policyVersion },
          existing === undefined ? { credential } : { credential, existing },
        );
        const summary = { id: credential.id, version: stored.version, issuer: issuerKind, project: credential.project, expiresAt: stored.expiresAtInMs === null ? null : new Date(stored.expiresAtInMs).toISOString() };
        if (options.json === true) deps.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else deps.stdout.write(`Registered ${credential.id} (${issuerKind}, project "${credential.project}"), version ${stored.version}, expiring ${summary.expiresAt ?? "never"}.\n`);
      }),
    );
}
