import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type FunctionDefinition } from "../src/functions/definition.js";

/** The compiled (or, under vitest, source) functions folder, as package.json `main` globs it for Azure. */
export const FUNCTIONS_DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "functions");

function isDefinition(value: unknown): value is FunctionDefinition {
  return typeof value === "object" && value !== null && "kind" in value && "name" in value && "options" in value;
}

/** Imports every function file, as the Functions host does, and collects the definitions they export. */
export async function loadFunctionDefinitions(directory = FUNCTIONS_DIRECTORY): Promise<FunctionDefinition[]> {
  const files = (await readdir(directory)).filter((file) => /\.(js|ts)$/.test(file) && !file.endsWith(".d.ts") && !file.startsWith("definition."));
  const definitions: FunctionDefinition[] = [];
  for (const file of files.sort()) {
    const module = (await import(pathToFileURL(join(directory, file)).href)) as { definition?: unknown };
    if (isDefinition(module.definition)) definitions.push(module.definition);
  }
  return definitions;
}
