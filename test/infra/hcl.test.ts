import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { block, expr, loadInfra, loadInfraFrom, localsOf, refersTo, resource, resourcesOf } from "./hcl.js";

describe("hcl helper", () => {
  let dir = "";

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "palisade-hcl-"));
    await mkdir(path.join(dir, "modules", "child"), { recursive: true });
    await mkdir(path.join(dir, ".terraform"), { recursive: true });
    await writeFile(
      path.join(dir, "a.tf"),
      'locals {\n  a = 1\n}\nresource "azurerm_key_vault" "kv" {\n  purge_protection_enabled = true\n  network_acls {\n    bypass = "None"\n  }\n}\n',
    );
    await writeFile(path.join(dir, "b.tf"), 'locals {\n  b = "two"\n}\nresource "azurerm_role_assignment" "r" {\n  scope = azurerm_key_vault.kv.id\n}\n');
    await writeFile(path.join(dir, "modules", "child", "main.tf"), 'resource "azurerm_role_assignment" "r" {\n  scope = var.x\n}\n');
    await writeFile(path.join(dir, ".terraform", "ignored.tf"), 'resource "azurerm_role_assignment" "hidden" {}\n');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads every .tf file recursively, keeps each block's module and merges locals per module", async () => {
    const infra = await loadInfraFrom(dir);
    expect(infra.files.map((f) => path.relative(dir, f))).toEqual(["a.tf", "b.tf", path.join("modules", "child", "main.tf")]);
    expect(resourcesOf(infra, "azurerm_role_assignment").map((r) => `${r.module}:${r.name}`)).toEqual([":r", "modules/child:r"]);
    expect(localsOf(infra)).toEqual({ a: 1, b: "two" });
    expect(block(resource(infra, "azurerm_key_vault", "kv"), "network_acls").bypass).toBe("None");
  });

  it("reads expressions and references", async () => {
    const infra = await loadInfraFrom(dir);
    const scope = resource(infra, "azurerm_role_assignment", "r").scope;
    expect(expr(scope)).toBe("azurerm_key_vault.kv.id");
    expect(refersTo(scope, "azurerm_key_vault.kv.id")).toBe(true);
    expect(refersTo(scope, "azurerm_key_vault.k")).toBe(false);
    expect(refersTo("${xazurerm_key_vault.kv.id}", "azurerm_key_vault.kv.id")).toBe(false);
    expect(() => resource(infra, "azurerm_key_vault", "missing")).toThrow(/expected one azurerm_key_vault.missing/);
  });

  it("finds the repository's infra with its openai module", async () => {
    const infra = await loadInfra();
    expect(infra.files.some((f) => f.endsWith(path.join("modules", "openai", "main.tf")))).toBe(true);
    expect(resourcesOf(infra, "azurerm_cognitive_account", "modules/openai")).toHaveLength(1);
  });
});
