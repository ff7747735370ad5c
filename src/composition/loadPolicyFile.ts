import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { validateCidr } from "../core/network/cidr.js";
import { type LoadedPolicy, PolicyError, parsePolicy } from "../core/policy/parsePolicy.js";

/** Reads and validates the policy file; relative paths resolve against the app's root (the working directory). */
export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  const fullPath = isAbsolute(path) ? path : resolve(process.cwd(), path);
  let text: string;
  try {
    text = await readFile(fullPath, "utf8");
  } catch (error) {
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "unreadable";
    throw new PolicyError(fullPath, [`cannot read the policy file (${code}); set PALISADE_POLICY to its path`]);
  }
  const loaded = parsePolicy(text, fullPath);
  const problems: string[] = [];
  loaded.policy.serviceAccounts.forEach((account, index) => {
    account.ipAllowlist.forEach((cidr, cidrIndex) => {
      const problem = validateCidr(cidr);
      if (problem) problems.push(`serviceAccounts[${index}].ipAllowlist[${cidrIndex}]: ${problem}`);
    });
  });
  if (problems.length > 0) throw new PolicyError(fullPath, problems);
  return loaded;
}
