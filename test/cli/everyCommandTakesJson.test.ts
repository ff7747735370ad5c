import { type Command } from "commander";
import { describe, expect, it } from "vitest";
import { createProgram } from "../../src/cli/program.js";

/** README: "Every command takes --json" (issue 18 item 15): checked over the program itself, so a new command cannot break it. */
describe("palisade: every command takes --json", () => {
  const leaves = (command: Command, path: string[] = []): { path: string; command: Command }[] =>
    command.commands.length === 0 ? [{ path: path.join(" "), command }] : command.commands.flatMap((sub) => leaves(sub, [...path, sub.name()]));

  it("has --json on every leaf command", () => {
    const program = createProgram({ stdout: process.stdout, stderr: process.stderr, environment: {} });
    const all = leaves(program);
    expect(all.map((leaf) => leaf.path)).toEqual(expect.arrayContaining(["dlp scan", "dsr export", "host", "keys create", "usage"]));
    expect(all.filter((leaf) => !leaf.command.options.some((option) => option.long === "--json")).map((leaf) => leaf.path)).toEqual([]);
  });
});
