import { Command } from "commander";
import { readFile } from "node:fs/promises";
import { validateCidr } from "../../core/network/cidr.js";
import { PolicyError, parsePolicy } from "../../core/policy/parsePolicy.js";

export interface PolicyCommandDeps {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly readFile?: (path: string) => Promise<string>;
}

/** `palisade policy validate FILE`: the same checks as start-up, with every problem named. */
export function createPolicyCommand(deps: PolicyCommandDeps): Command {
  const read = deps.readFile ?? ((path: string) => readFile(path, "utf8"));
  const policy = new Command("policy").description("work with policy files");
  policy
    .command("validate")
    .description("check a policy file (YAML or JSON) exactly as start-up does")
    .argument("<file>", "the policy file")
    .option("--json", "machine-readable output")
    .action(async (file: string, options: { json?: boolean }) => {
      let problems: readonly string[] = [];
      let summary: Record<string, number | string> = {};
      try {
        const loaded = parsePolicy(await read(file), file);
        const cidrProblems = loaded.policy.serviceAccounts.flatMap((account, index) =>
          account.ipAllowlist.map((cidr, cidrIndex) => [validateCidr(cidr), `serviceAccounts[${index}].ipAllowlist[${cidrIndex}]`] as const).flatMap(([problem, path]) => (problem ? [`${path}: ${problem}`] : [])),
        );
        problems = cidrProblems;
        summary = {
          version: loaded.version,
          projects: loaded.policy.projects.length,
          members: loaded.policy.members.length,
          serviceAccounts: loaded.policy.serviceAccounts.length,
          endpoints: loaded.policy.endpoints.length,
        };
      } catch (error) {
        if (error instanceof PolicyError) problems = error.problems;
        else problems = [`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`];
      }
      const valid = problems.length === 0;
      if (options.json) deps.stdout.write(`${JSON.stringify({ file, valid, problems, ...summary })}\n`);
      else if (valid) deps.stdout.write(`${file} is valid: ${summary.projects} project(s), ${summary.serviceAccounts} service account(s), ${summary.endpoints} endpoint(s); version ${String(summary.version).slice(0, 12)}\n`);
      else deps.stderr.write(`${file} is not valid:\n${problems.map((problem) => `  - ${problem}`).join("\n")}\n`);
      if (!valid) process.exitCode = 1;
    });
  return policy;
}
