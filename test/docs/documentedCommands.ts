import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { ROOT } from "../support/hostProcesses.js";

/** Single-quotes a value for bash (the tests write it into an env file a documented block sources). */
export const quote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** The first ```sh block after the heading: the commands a reader copies, run as written. */
export async function documentedCommands(file: string, heading: string): Promise<string> {
  const text = await readFile(join(ROOT, file), "utf8");
  const at = text.indexOf(heading);
  expect(at, `${file} has no "${heading}"`).toBeGreaterThanOrEqual(0);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block?.[1]) throw new Error(`no sh block after "${heading}" in ${file}`);
  return block[1];
}
