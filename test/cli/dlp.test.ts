import { PassThrough, Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createDlpCommand } from "../../src/cli/commands/dlp.js";

const POLICY = [
  "version: 1",
  "projects:",
  "  - id: alpha",
  "    residency: eu",
  "    models: [{ name: gpt, deployment: gpt-4o }]",
  "    dlp: { allowlist: ['support@example.com'] }",
  "  - id: beta",
  "    residency: eu",
  "    models: [{ name: gpt, deployment: gpt-4o }]",
  "endpoints:",
  "  - { id: e1, provider: azure, baseUrl: 'https://example.openai.azure.com', region: westeurope, residency: eu, class: zdr, deployments: [gpt-4o] }",
].join("\n");

async function run(args: string[], stdin: string): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  const command = createDlpCommand({
    stdin: Readable.from([Buffer.from(stdin)]),
    stdout,
    stderr,
    readFile: async (path) => {
      if (path === "policy.yaml") return POLICY;
      throw new Error(`ENOENT: no such file ${path}`);
    },
  });
  command.exitOverride();
  command.configureOutput({ writeOut: (t) => void (out += t), writeErr: (t) => void (err += t) });
  await command.parseAsync(["scan", ...args], { from: "user" });
  const exitCode = process.exitCode === undefined ? undefined : Number(process.exitCode);
  return { stdout: out, stderr: err, exitCode };
}

afterEach(() => {
  process.exitCode = undefined;
});

describe("palisade dlp scan", () => {
  it("prints offsets, types and scores of findings, never the values", async () => {
    const text = "card 4111 1111 1111 1111, mail jane@example.com";
    const { stdout, exitCode } = await run([], text);
    const result = JSON.parse(stdout) as { findings: { type: string; start: number; end: number; score: number }[]; counts: Record<string, number> };
    expect(result.findings.map((f) => [f.type, text.slice(f.start, f.end)])).toEqual([
      ["CREDIT_CARD", "4111 1111 1111 1111"],
      ["EMAIL_ADDRESS", "jane@example.com"],
    ]);
    expect(result.counts).toEqual({ CREDIT_CARD: 1, EMAIL_ADDRESS: 1 });
    expect(stdout).not.toContain("4111");
    expect(stdout).not.toContain("jane@");
    expect(exitCode).toBeUndefined();
  });

  it("reads JSON lines with --jsonl and prints one result per line", async () => {
    const input = `${JSON.stringify({ text: "ip 192.0.2.1" })}\n${JSON.stringify({ text: "nothing" })}\n`;
    const { stdout } = await run(["--jsonl"], input);
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l) as { line: number; counts: Record<string, number> });
    expect(lines).toEqual([expect.objectContaining({ line: 1, counts: { IP_ADDRESS: 1 } }), expect.objectContaining({ line: 2, counts: {} })]);
  });

  it("applies the project's DLP settings from --policy and --project", async () => {
    const text = "write to support@example.com or jane@example.com";
    const alpha = JSON.parse((await run(["--policy", "policy.yaml", "--project", "alpha"], text)).stdout) as { findings: unknown[] };
    const beta = JSON.parse((await run(["--policy", "policy.yaml", "--project", "beta"], text)).stdout) as { findings: unknown[] };
    expect(alpha.findings).toHaveLength(1);
    expect(beta.findings).toHaveLength(2);
  });

  it.each([
    [["--project", "alpha"], /needs --policy/],
    [["--policy", "policy.yaml"], /2 projects \(alpha, beta\); choose one with --project/],
    [["--policy", "policy.yaml", "--project", "gamma"], /project "gamma" is not in policy.yaml; known projects: alpha, beta/],
    [["--policy", "missing.yaml"], /cannot read policy missing.yaml/],
  ])("fails with a clear message and a non-zero exit code for %j", async (args, message) => {
    const { stderr, stdout, exitCode } = await run(args, "text");
    expect(stderr).toMatch(message);
    expect(stdout).toBe("");
    expect(exitCode).toBe(1);
  });

  it("rejects a --jsonl line without a text field, naming the line", async () => {
    const { stderr, exitCode } = await run(["--jsonl"], `{"text":"ok"}\n{"body":"x"}\n`);
    expect(stderr).toMatch(/line 2 has no "text" string/);
    expect(exitCode).toBe(1);
  });
});
