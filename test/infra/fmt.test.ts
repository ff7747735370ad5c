import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { infraDir } from "./hcl.js";

const run = promisify(execFile);
const terraformBin = ["/usr/local/bin/terraform", "/usr/bin/terraform"].find((p) => existsSync(p));
const hasTerraform = terraformBin !== undefined;

async function fmtCheck(dir: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout } = await run(terraformBin!, ["fmt", "-check", "-recursive", "-list=true", dir], { env: { ...process.env, TF_IN_AUTOMATION: "1" } });
    return { ok: true, output: stdout };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

describe("terraform fmt", () => {
  it.skipIf(!hasTerraform)("infra/ is formatted (terraform fmt -check -recursive infra) [skipped only when no terraform binary is installed]", async () => {
    const result = await fmtCheck(infraDir);
    expect(result.output.trim(), `unformatted files:\n${result.output}`).toBe("");
    expect(result.ok).toBe(true);
  });

  it.skipIf(!hasTerraform)("the check rejects a badly formatted file [skipped only when no terraform binary is installed]", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "palisade-fmt-"));
    try {
      await writeFile(path.join(dir, "bad.tf"), 'resource "x" "y" {\nname="z"\n  other   = 1\n}\n');
      const result = await fmtCheck(dir);
      expect(result.ok).toBe(false);
      expect(result.output).toContain("bad.tf");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
