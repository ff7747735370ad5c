import { type Command } from "commander";
import type { AuditPublisher } from "../../core/audit/AuditPublisher.js";
import type { ApiKeyRecord } from "../../core/auth/ApiKeyStore.js";
import type { Clock } from "../../core/clock.js";
import type { CredentialIssuer } from "../../core/rotation/CredentialIssuer.js";
import type { CredentialRotator } from "../../core/rotation/CredentialRotator.js";
import type { IssuerKind } from "../../core/rotation/managedCredential.js";
import type { RotationStateStore } from "../../core/rotation/RotationStateStore.js";
import type { SecretStore } from "../../core/secrets/SecretStore.js";
import { createCommandGroup } from "../commandGroup.js";
import { addRegisterCommand } from "./credentialsRegister.js";
import { addReportCommand } from "./credentialsReport.js";
import { addRotateCommand } from "./credentialsRotate.js";

/** What the command needs; `getRotationServices()` provides all of it. */
export interface CredentialsCliServices {
  readonly secrets: SecretStore | null;
  readonly apiKeys: { list(): AsyncIterable<ApiKeyRecord> } | null;
  readonly rotator: CredentialRotator | null;
  /** The rotation state rows (the lease a crashed run left), for `rotate --force`. */
  readonly states: RotationStateStore | null;
  readonly issuers: Partial<Record<IssuerKind, CredentialIssuer>>;
  readonly audit: AuditPublisher;
  readonly policyVersion: string;
  readonly newId: () => string;
}

export interface CredentialsCommandDeps {
  readonly getServices: () => Promise<CredentialsCliServices>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Where `register --value-stdin` reads the value from (process.stdin by default). */
  readonly stdin?: AsyncIterable<string | Buffer>;
  readonly clock?: Clock;
  /** Who runs the command, for audit events (default "cli"). */
  readonly operator?: string;
  /** How `rotate --wait` waits between checks (tests pass a fast one). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * `palisade credentials report|register|rotate`. Actions never exit the process: failures write one
 * line to stderr and reject with a CommanderError (exitCode 1). No value is ever printed.
 */
export function createCredentialsCommand(deps: CredentialsCommandDeps): Command {
  const clock = deps.clock ?? { nowInMs: () => Date.now() };
  const group = createCommandGroup("credentials", "Managed upstream credentials in Key Vault: inventory, registration, rotation", deps);
  addReportCommand(group, deps, clock);
  addRegisterCommand(group, deps, clock);
  addRotateCommand(group, deps, clock);
  return group.command;
}
