import { TableClient } from "@azure/data-tables";
import OpenAI from "openai";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sayDirective } from "../../local/mockOpenAi/toolCalls.js";
import { apiErrorOf } from "../support/openaiCalls.js";
import { useOperationsStack } from "./operationsPolicyFixture.js";

/** Owner rows written by earlier builds, on Azurite, read back through the whole app. */
const running = useOperationsStack([
  ["open", "open-app"],
  ["neighbour", "neighbour-app"],
]);

const platform = (project: "open" | "neighbour"): OpenAI => new OpenAI({ baseURL: running.stack().baseUrl, apiKey: running.key(project, `${project}-app`), maxRetries: 0, timeout: 15_000 });

describe("owner rows of session 12 builds (project only: no model, endpoint or expiresAt)", () => {
  it("are read back where a create by the project goes (its model on its first endpoint); another project still gets 404", async () => {
    const made = await platform("open").responses.create({ model: "gpt-4o-mini", input: `go ${sayDirective("kept upstream")}` });
    // Rewrite its owner row in session 12's shape (and drop its expiry row, which that build never wrote).
    const table = TableClient.fromConnectionString(running.stack().stack.azurite.connectionString, "StoredResponseOwners", { allowInsecureConnection: true });
    const rowKey = createHash("sha256").update(made.id, "utf8").digest("hex");
    const partitionKey = rowKey.slice(0, 2);
    for await (const row of table.listEntities({ queryOptions: { filter: `PartitionKey eq '${partitionKey}'` } })) {
      if (row.rowKey === rowKey || row.rowKey?.endsWith(`:${rowKey}`) === true) await table.deleteEntity(partitionKey, row.rowKey);
    }
    await table.createEntity({ partitionKey, rowKey, projectId: "open" });
    running.stack().mocks.chat.clearRequests();

    const read = await platform("open").responses.retrieve(made.id);
    expect(read.output_text).toBe("kept upstream");
    expect(running.stack().mocks.chat.requests().map((request) => request.path)).toEqual([`/openai/v1/responses/${made.id}`]);
    expect((await apiErrorOf(platform("neighbour").responses.retrieve(made.id))).status).toBe(404);
  }, 60_000);
});
