import { AzureNamedKeyCredential, TableClient, type TransactionAction } from "@azure/data-tables";
import { createHttpHeaders, type HttpClient, type PipelineRequest } from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import { buildEntityGroupRequest, type EntityGroupOperation, parseEntityGroupResponse } from "../../../src/adapters/tables/audit/entityGroupBody.js";

const ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** What the SDK's own submitTransaction puts on the wire for these operations (sent to a client that answers 202). */
async function sdkRequest(url: string, operations: readonly EntityGroupOperation[]): Promise<PipelineRequest & { body: string }> {
  let sent: PipelineRequest | undefined;
  const httpClient: HttpClient = {
    sendRequest: async (request) => {
      sent = request;
      return { request, status: 202, headers: createHttpHeaders(), bodyAsText: "--changesetresponse_x\r\n--changesetresponse_x--" };
    },
  };
  const table = new TableClient(url, "AuditLog", new AzureNamedKeyCredential("devstoreaccount1", ACCOUNT_KEY), { httpClient, allowInsecureConnection: true });
  const actions: TransactionAction[] = operations.map((op) => (op.kind === "insert" ? ["create", { ...op.row }] : ["update", { ...op.row }, "Replace", { etag: op.ifMatch }]));
  await table.submitTransaction(actions).catch(() => undefined);
  const body = sent?.body;
  if (sent === undefined || typeof body !== "string") throw new Error("the SDK sent no text body");
  return Object.assign(sent, { body });
}

const idsOf = (body: string): { batchId: string; changesetId: string } => ({
  batchId: /^--batch_([0-9a-f-]+)/.exec(body)?.[1] ?? "",
  changesetId: /boundary=changeset_([0-9a-f-]+)/.exec(body)?.[1] ?? "",
});

describe("buildEntityGroupRequest", () => {
  // Keys and values the SDK must quote, escape or percent-encode: quotes, slashes, non-ASCII, JSON escapes.
  const chain = "proj'.x/ä #?%";
  const operations: EntityGroupOperation[] = [
    { kind: "insert", row: { partitionKey: chain, rowKey: "000000000007", canonical: '{"a":"é\\n\\"q\\"","b":[1,2]}', hash: "ab".repeat(32), prevHash: "0".repeat(64), eventId: "e'1" } },
    { kind: "insert", row: { partitionKey: chain, rowKey: "dedupe_e'1%2F", sequence: "000000000007" } },
    { kind: "replace", row: { partitionKey: chain, rowKey: "head", size: 8, lastHash: "ab".repeat(32), updatedAt: "2026-12-06T00:00:00.000Z" }, ifMatch: `W/"datetime'2026-12-06T16%3A33%3A08.1234567Z'"` },
  ];

  it("writes the body and headers the SDK's submitTransaction writes, byte for byte (insert, replace with If-Match)", async () => {
    const url = "http://127.0.0.1:10002/devstoreaccount1";
    const sdk = await sdkRequest(url, operations);
    const sdkBody = sdk.body;
    const ours = buildEntityGroupRequest(url, "AuditLog", operations, idsOf(sdkBody));
    expect(ours.body).toBe(sdkBody);
    expect(ours.url).toBe(sdk.url);
    for (const [name, value] of Object.entries(ours.headers)) expect(sdk.headers.get(name)).toBe(value);
  });

  it("writes the first insert of a head the same way, and keeps a SAS query on the $batch URL only", async () => {
    const head: EntityGroupOperation[] = [{ kind: "insert", row: { partitionKey: "c", rowKey: "head", size: 1, lastHash: "h", updatedAt: "t" } }];
    const url = "http://127.0.0.1:10002/devstoreaccount1";
    const sdkBody = (await sdkRequest(url, head)).body;
    expect(buildEntityGroupRequest(url, "AuditLog", head, idsOf(sdkBody)).body).toBe(sdkBody);
    const withSas = buildEntityGroupRequest(`${url}?sv=2020&sig=abc`, "AuditLog", head, { batchId: "b", changesetId: "c" });
    expect(withSas.url).toBe(`${url}/$batch?sv=2020&sig=abc`);
    expect(withSas.body).toContain(`POST ${url}/AuditLog HTTP/1.1`);
    expect(withSas.body).not.toContain("sig=");
  });
});

describe("parseEntityGroupResponse", () => {
  const ok = (etag: string): string => `--changesetresponse_1\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\nETag: ${etag}\r\n\r\n`;

  it("returns each sub-response's status and ETag in order", () => {
    const body = `--batchresponse_1\r\n${ok('W/"1"')}${ok(`W/"datetime'2'"`)}--changesetresponse_1--\r\n--batchresponse_1--`;
    expect(parseEntityGroupResponse(202, body)).toEqual({ ok: true, subResponses: [{ status: 204, etag: 'W/"1"' }, { status: 204, etag: `W/"datetime'2'"` }] });
  });

  it("reports the failing operation's status and code (Azure answers 202 with that one sub-response)", () => {
    const failed =
      '--batchresponse_1\r\n--changesetresponse_1\r\n\r\nHTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n{"odata.error":{"code":"EntityAlreadyExists","message":{"lang":"en-US","value":"1:The specified entity already exists."}}}\r\n--changesetresponse_1--\r\n--batchresponse_1--';
    expect(parseEntityGroupResponse(202, failed)).toEqual({ ok: false, failure: { status: 409, code: "EntityAlreadyExists", message: "1:The specified entity already exists." } });
  });

  it("reports a failed request as a whole, with or without the service's error body", () => {
    expect(parseEntityGroupResponse(400, '{"odata.error":{"code":"InvalidInput","message":{"value":"bad"}}}')).toEqual({ ok: false, failure: { status: 400, code: "InvalidInput", message: "bad" } });
    expect(parseEntityGroupResponse(503, "<html>busy</html>")).toEqual({ ok: false, failure: { status: 503, message: "Transaction Failed" } });
  });
});
