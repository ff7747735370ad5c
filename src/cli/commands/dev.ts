import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { type JWK } from "jose";
import { type Command } from "commander";
import { createCommandGroup } from "../commandGroup.js";
import { parseDuration } from "./keys.js";

export interface DevCommandDeps {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly environment: Readonly<Record<string, string | undefined>>;
}

interface DevIssuerKeyFile {
  readonly issuer: string;
  readonly audience: string;
  readonly privateJwk: JWK;
}

/**
 * `palisade dev token`: an access token for the local stack, signed by its stand-in for Entra ID
 * (`local/devIssuer.ts`, whose key file `npm start` exports as PALISADE_DEV_ISSUER_KEY). The app
 * checks it as it checks Entra's; config/policy.sample.yaml trusts that issuer. Local trials only.
 */
export function createDevCommand(deps: DevCommandDeps): Command {
  const { command: dev, run, fail } = createCommandGroup("dev", "Local development helpers (the local stack only)", deps);
  dev
    .command("token")
    .description("Print an access token from the local stack's Entra ID stand-in, for the admin API and the gateway")
    .requiredOption("--user <name>", "the user: a UPN (alice@example.com) or object id, matched against the policy's members")
    .option("--roles <roles>", "app roles, comma-separated (<project>.<role>, e.g. demo.admin)", "")
    .option("--expires-in <duration>", "lifetime (e.g. 1h, 30m)", "1h")
    .option("--json", "print JSON ({ token, expiresAt })")
    .action(
      run(async (options: { user: string; roles: string; expiresIn: string; json?: boolean }) => {
        const keyPath = deps.environment.PALISADE_DEV_ISSUER_KEY;
        if (keyPath === undefined || keyPath === "") return fail("PALISADE_DEV_ISSUER_KEY is not set: run `npm start`, then `source .palisade/local.env`.");
        const lifetimeInMs = parseDuration(options.expiresIn);
        if (lifetimeInMs === null || lifetimeInMs > 24 * 3_600_000) return fail(`--expires-in "${options.expiresIn}" must be a duration such as 1h or 30m, at most 24h.`);
        let file: DevIssuerKeyFile;
        try {
          file = JSON.parse(await readFile(keyPath, "utf8")) as DevIssuerKeyFile;
        } catch {
          return fail(`cannot read the dev issuer key ${keyPath}; is the local stack running (npm start)?`);
        }
        const nowInSeconds = Math.floor(Date.now() / 1000);
        const expiresAt = nowInSeconds + Math.floor(lifetimeInMs / 1000);
        const name = options.user.trim();
        const upn = name.includes("@") ? { upn: name, preferred_username: name } : {};
        const roles = options.roles.split(",").map((role) => role.trim()).filter((role) => role !== "");
        // A stable object id per user name, as Entra gives one user one oid.
        const hex = createHash("sha256").update(name.toLowerCase()).digest("hex");
        const oid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
        // jose loads here, not with every `palisade` command (`palisade host` among them).
        const { SignJWT, importJWK } = await import("jose");
        const token = await new SignJWT({ oid: name.includes("@") ? oid : name, ...upn, ...(roles.length > 0 ? { roles } : {}), name })
          .setProtectedHeader({ alg: "ES256", typ: "JWT", ...(file.privateJwk.kid === undefined ? {} : { kid: file.privateJwk.kid }) })
          .setIssuer(file.issuer)
          .setAudience(file.audience)
          .setSubject(name)
          .setIssuedAt(nowInSeconds)
          .setNotBefore(nowInSeconds)
          .setExpirationTime(expiresAt)
          .sign(await importJWK(file.privateJwk, "ES256"));
        deps.stdout.write(options.json === true ? `${JSON.stringify({ token, expiresAt: new Date(expiresAt * 1000).toISOString() })}\n` : `${token}\n`);
      }),
    );
  return dev;
}
