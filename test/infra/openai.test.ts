import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "@cdktf/hcl2json";
import { beforeAll, describe, expect, it } from "vitest";
import { block, expr, type Infra, infraDir, isBody, loadInfra, moduleCall, refersTo, resource } from "./hcl.js";

const MODULE = "modules/openai";

describe("azure openai policy", () => {
  let infra: Infra;
  beforeAll(async () => {
    infra = await loadInfra();
  });

  it("instantiates modules/openai once per entry of var.openai_regions", () => {
    const call = moduleCall(infra, "openai");
    expect(call.source).toBe("./modules/openai");
    expect(expr(call.for_each)).toBe("var.openai_regions");
    expect(refersTo(call.residency, "each.value.residency")).toBe(true);
    expect(refersTo(call.location, "each.value.location")).toBe(true);
    expect(refersTo(call.deployments, "each.value.deployments")).toBe(true);
  });

  it("creates an OpenAI account with a custom subdomain, local auth off and public access off", () => {
    const account = resource(infra, "azurerm_cognitive_account", "this", MODULE);
    expect(account.kind).toBe("OpenAI");
    expect(refersTo(account.custom_subdomain_name, "var.name")).toBe(true);
    expect(account.local_auth_enabled).toBe(false);
    expect(account.public_network_access_enabled).toBe(false);
    expect(block(account, "network_acls").default_action).toBe("Deny");
  });

  it("creates the model deployments of the region on its account", () => {
    const deployment = resource(infra, "azurerm_cognitive_deployment", "this", MODULE);
    expect(expr(deployment.for_each)).toBe("var.deployments");
    expect(refersTo(deployment.cognitive_account_id, "azurerm_cognitive_account.this.id")).toBe(true);
    expect(block(deployment, "model").format).toBe("OpenAI");
    expect(refersTo(block(deployment, "sku").capacity, "each.value.capacity")).toBe(true);
  });

  it("restricts residency to the values the policy schema knows", () => {
    const validations = (infra.variables.find((v) => v.name === "openai_regions" && v.module === "")?.body.validation ?? []) as Record<string, unknown>[];
    expect(validations.some((v) => /contains\(\["eu", "us", "apac", "global"\], r\.residency\)/.test(expr(v.condition)))).toBe(true);
  });

  it("ships an example with EU and US regions whose keys are declared variables", async () => {
    const text = await readFile(path.join(infraDir, "terraform.tfvars.example"), "utf8");
    const example: unknown = await parse("terraform.tfvars", text);
    expect(isBody(example)).toBe(true);
    const values = example as Record<string, unknown>;
    const declared = new Set(infra.variables.filter((v) => v.module === "").map((v) => v.name));
    for (const key of Object.keys(values)) expect(declared.has(key), `${key} is not a declared variable`).toBe(true);
    const regions = values.openai_regions as Record<string, { residency: string; deployments: Record<string, unknown> }>;
    const residencies = new Set(Object.values(regions).map((r) => r.residency));
    expect(residencies.has("eu")).toBe(true);
    expect(residencies.has("us")).toBe(true);
    for (const region of Object.values(regions)) expect(Object.keys(region.deployments).length).toBeGreaterThan(0);
  });
});
