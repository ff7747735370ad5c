import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ERROR_CODES } from "../../src/core/errors.js";
import { loadFunctionDefinitions } from "../../local/loadFunctionDefinitions.js";

interface OpenApiDocument {
  readonly paths: Record<string, Record<string, unknown>>;
  readonly components: { readonly schemas: { readonly Error: { readonly properties: { readonly error: { readonly properties: { readonly code: { readonly enum: string[] } } } } } } };
}

const document = parse(await readFile(new URL("../../docs/openapi.yaml", import.meta.url), "utf8")) as OpenApiDocument;

describe("docs/openapi.yaml stays current with the code", () => {
  it("documents every HTTP route and method the functions serve", async () => {
    const http = (await loadFunctionDefinitions()).flatMap((definition) => (definition.kind === "http" ? [definition] : []));
    expect(http.length).toBeGreaterThan(0);
    for (const definition of http) {
      const route = definition.options.route ?? definition.name;
      if (route.includes("{*")) continue; // the catch-all that answers OpenAI-shaped 404s
      const operations = document.paths[`/${route}`];
      expect(operations, `path /${route}`).toBeDefined();
      for (const method of definition.options.methods ?? []) expect(operations?.[method.toLowerCase()], `${method} /${route}`).toBeDefined();
    }
  });

  it("lists exactly the error codes the app can answer with", () => {
    const documented = document.components.schemas.Error.properties.error.properties.code.enum;
    const undocumented = ERROR_CODES.filter((code) => !documented.includes(code));
    expect(undocumented).toEqual([]);
    expect(documented.filter((code) => !(ERROR_CODES as readonly string[]).includes(code))).toEqual([]);
  });
});
