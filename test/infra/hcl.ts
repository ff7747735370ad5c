import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "@cdktf/hcl2json";

/** One HCL block body as @cdktf/hcl2json returns it: nested blocks are arrays of bodies. */
export type HclBody = Record<string, unknown>;

/** A resource (or data source) block, with where it was declared. */
export interface HclBlock {
  readonly type: string;
  readonly name: string;
  /** Directory relative to infra/: "" for the root module, "modules/openai" for a child module. */
  readonly module: string;
  readonly file: string;
  readonly body: HclBody;
}

/** A named top-level block: variable, output or module call. */
export interface HclNamed {
  readonly name: string;
  readonly module: string;
  readonly file: string;
  readonly body: HclBody;
}

export interface Infra {
  readonly dir: string;
  readonly files: readonly string[];
  readonly resources: readonly HclBlock[];
  readonly data: readonly HclBlock[];
  readonly variables: readonly HclNamed[];
  readonly outputs: readonly HclNamed[];
  readonly moduleCalls: readonly HclNamed[];
  /** locals of each module directory, merged across its files. */
  readonly locals: ReadonlyMap<string, HclBody>;
  readonly providers: readonly HclNamed[];
  readonly terraform: readonly HclBody[];
}

export const infraDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../infra");

export function isBody(value: unknown): value is HclBody {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function bodies(value: unknown): HclBody[] {
  return Array.isArray(value) ? value.filter(isBody) : [];
}

async function listTfFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith(".")) continue; // .terraform and friends
      files.push(...(await listTfFiles(full)));
    } else if (entry.isFile() && entry.name.endsWith(".tf")) {
      files.push(full);
    }
  }
  return files.sort();
}

/** Parses every .tf file under `dir` (recursively, modules included) and merges them. */
export async function loadInfraFrom(dir: string): Promise<Infra> {
  const files = await listTfFiles(dir);
  const resources: HclBlock[] = [];
  const data: HclBlock[] = [];
  const variables: HclNamed[] = [];
  const outputs: HclNamed[] = [];
  const moduleCalls: HclNamed[] = [];
  const providers: HclNamed[] = [];
  const terraform: HclBody[] = [];
  const locals = new Map<string, HclBody>();

  for (const file of files) {
    const relative = path.relative(dir, file);
    const module = path.dirname(relative) === "." ? "" : path.dirname(relative).split(path.sep).join("/");
    const doc: unknown = await parse(relative, await readFile(file, "utf8"));
    if (!isBody(doc)) throw new Error(`${relative}: hcl2json returned no object`);

    const typed = (key: string, into: HclBlock[]): void => {
      const byType = doc[key];
      if (!isBody(byType)) return;
      for (const [type, byName] of Object.entries(byType)) {
        if (!isBody(byName)) continue;
        for (const [name, list] of Object.entries(byName)) {
          for (const body of bodies(list)) into.push({ type, name, module, file: relative, body });
        }
      }
    };
    const named = (key: string, into: HclNamed[]): void => {
      const byName = doc[key];
      if (!isBody(byName)) return;
      for (const [name, list] of Object.entries(byName)) {
        for (const body of bodies(list)) into.push({ name, module, file: relative, body });
      }
    };

    typed("resource", resources);
    typed("data", data);
    named("variable", variables);
    named("output", outputs);
    named("module", moduleCalls);
    named("provider", providers);
    terraform.push(...bodies(doc.terraform));
    for (const block of bodies(doc.locals)) {
      locals.set(module, { ...(locals.get(module) ?? {}), ...block });
    }
  }

  return { dir, files, resources, data, variables, outputs, moduleCalls, locals, providers, terraform };
}

let cached: Promise<Infra> | undefined;

/** The repository's infra/, parsed once per test file. */
export function loadInfra(): Promise<Infra> {
  cached ??= loadInfraFrom(infraDir);
  return cached;
}

/** Every resource of a type, across the root and child modules. */
export function resourcesOf(infra: Infra, type: string, module?: string): HclBlock[] {
  return infra.resources.filter((r) => r.type === type && (module === undefined || r.module === module));
}

/** The single resource at `type.name` in `module` ("" = root); throws when it is missing. */
export function resource(infra: Infra, type: string, name: string, module = ""): HclBody {
  const found = infra.resources.filter((r) => r.type === type && r.name === name && r.module === module);
  if (found.length !== 1) throw new Error(`expected one ${type}.${name} in infra/${module}, found ${found.length}`);
  return found[0]!.body;
}

export function variable(infra: Infra, name: string, module = ""): HclBody {
  const found = infra.variables.find((v) => v.name === name && v.module === module);
  if (!found) throw new Error(`variable "${name}" is not declared in infra/${module}`);
  return found.body;
}

export function moduleCall(infra: Infra, name: string, module = ""): HclBody {
  const found = infra.moduleCalls.find((v) => v.name === name && v.module === module);
  if (!found) throw new Error(`module "${name}" is not called in infra/${module}`);
  return found.body;
}

export function localsOf(infra: Infra, module = ""): HclBody {
  return infra.locals.get(module) ?? {};
}

/** The first (usually only) nested block `key` of a body, e.g. `block(kv, "network_acls")`. */
export function block(body: HclBody, key: string): HclBody {
  const found = bodies(body[key]);
  if (found.length === 0) throw new Error(`no "${key}" block`);
  return found[0]!;
}

/** All nested blocks `key` of a body (possibly none). */
export function blocks(body: HclBody, key: string): HclBody[] {
  return bodies(body[key]);
}

/** The expression inside "${...}", or the literal value as a string. */
export function expr(value: unknown): string {
  if (typeof value !== "string") return JSON.stringify(value) ?? "undefined";
  const match = /^\$\{([\s\S]*)\}$/.exec(value);
  return (match ? match[1]! : value).trim();
}

/** Whether an attribute's expression refers to `address` (e.g. "azurerm_key_vault.main.id"). */
export function refersTo(value: unknown, address: string): boolean {
  const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`(^|[^A-Za-z0-9_.])${escaped}($|[^A-Za-z0-9_])`);
  return strings(value).some((text) => pattern.test(text));
}

/** Every string inside a value (lists and objects included). */
export function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (isBody(value)) return Object.values(value).flatMap(strings);
  return [];
}
