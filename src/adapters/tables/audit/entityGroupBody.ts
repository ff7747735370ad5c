/**
 * The wire form of an Azure Tables entity-group transaction (`POST {account}/$batch`, one multipart/mixed
 * changeset), written and read in one pass. It reproduces byte for byte what @azure/data-tables 13.x
 * sends from `submitTransaction` (checked by test/adapters/audit/entityGroupBody.test.ts), without the
 * SDK's way of getting there: a fresh TableClient per transaction and its whole request pipeline run
 * once per row to capture each sub-request.
 */

const CRLF = "\r\n";

/** A row as the SDK serialises it: PartitionKey, RowKey, then its properties (strings and integers only). */
export type EntityRow = { readonly partitionKey: string; readonly rowKey: string } & Readonly<Record<string, string | number>>;

export type EntityGroupOperation =
  | { readonly kind: "insert"; readonly row: EntityRow }
  | { readonly kind: "replace"; readonly row: EntityRow; readonly ifMatch: string };

export interface EntityGroupRequest {
  /** `{account}/$batch`, with the account URL's query (a SAS) kept, as the SDK does. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface EntityGroupIds {
  readonly batchId: string;
  readonly changesetId: string;
}

/** One sub-response of a committed transaction, in request order. */
export interface SubResponse {
  readonly status: number;
  readonly etag?: string;
}

/** Why a transaction failed: the status and the service's error code (of the failing operation, if any). */
export interface EntityGroupFailure {
  readonly status: number;
  readonly code?: string;
  readonly message: string;
}

/** An OData key literal in a URL path: quotes doubled, then percent-encoded (as the SDK's generated client). */
const keyLiteral = (value: string): string => encodeURIComponent(value.replaceAll("'", "''"));

function rowJson(row: EntityRow): string {
  const { partitionKey, rowKey, ...properties } = row;
  return JSON.stringify({ PartitionKey: partitionKey, RowKey: rowKey, ...properties });
}

/** The transaction for `tableName` at `accountUrl` (the TableClient's `url`). */
export function buildEntityGroupRequest(accountUrl: string, tableName: string, operations: readonly EntityGroupOperation[], ids: EntityGroupIds): EntityGroupRequest {
  const queryAt = accountUrl.indexOf("?");
  const base = (queryAt < 0 ? accountUrl : accountUrl.slice(0, queryAt)).replace(/\/+$/, "");
  const query = queryAt < 0 ? "" : accountUrl.slice(queryAt);
  const tableUrl = `${base}/${tableName}`;
  const batch = `batch_${ids.batchId}`;
  const changeset = `changeset_${ids.changesetId}`;
  const partHeader = `--${changeset}${CRLF}content-type: application/http${CRLF}content-transfer-encoding: binary${CRLF}${CRLF}`;
  const parts: string[] = [`--${batch}${CRLF}content-type: multipart/mixed; boundary=${changeset}${CRLF}${CRLF}`];
  for (const operation of operations) {
    const { row } = operation;
    const head =
      operation.kind === "insert"
        ? `POST ${tableUrl} HTTP/1.1${CRLF}Content-Type: application/json;odata=nometadata${CRLF}Accept: application/json;odata=minimalmetadata${CRLF}DataServiceVersion: 3.0${CRLF}Prefer: return-no-content`
        : `PUT ${tableUrl}(PartitionKey='${keyLiteral(row.partitionKey)}',RowKey='${keyLiteral(row.rowKey)}') HTTP/1.1${CRLF}Content-Type: application/json${CRLF}DataServiceVersion: 3.0${CRLF}Accept: application/json${CRLF}If-Match: ${operation.ifMatch}`;
    parts.push(`${partHeader}${head}${CRLF}${CRLF}${CRLF}${rowJson(row)}`);
  }
  // The closing boundaries as the last part: ONE join makes the body flat, where a template around the
  // join made a rope that the credential policy's byte count then copied flat again (issue 22).
  parts.push(`--${changeset}--${CRLF}--${batch}--${CRLF}`);
  const body = parts.join(CRLF);
  return {
    url: `${base}/$batch${query}`,
    headers: {
      accept: "application/json",
      "x-ms-version": "2019-02-02",
      DataServiceVersion: "3.0;",
      MaxDataServiceVersion: "3.0;NetFx",
      "Content-Type": `multipart/mixed; boundary=${batch}`,
      "Accept-Charset": "UTF-8",
      Connection: "Keep-Alive",
    },
    body,
  };
}

function failureOf(status: number, text: string): EntityGroupFailure {
  let code: string | undefined;
  let message = "Transaction Failed";
  const json = /\{.*\}/s.exec(text)?.[0];
  if (json !== undefined) {
    try {
      const error = (JSON.parse(json) as { "odata.error"?: { code?: unknown; message?: { value?: unknown } } })["odata.error"];
      if (typeof error?.code === "string") code = error.code;
      if (typeof error?.message?.value === "string") message = error.message.value;
    } catch {
      // Not the service's error shape: keep the status alone.
    }
  }
  return code === undefined ? { status, message } : { status, code, message };
}

/**
 * The sub-responses of a batch response, or the failure it reports: the whole request's (a non-2xx
 * status) or the failing operation's (Azure answers 202 with that one sub-response and its error).
 */
export function parseEntityGroupResponse(status: number, bodyText: string): { ok: true; subResponses: SubResponse[] } | { ok: false; failure: EntityGroupFailure } {
  if (status < 200 || status >= 300) return { ok: false, failure: failureOf(status, bodyText) };
  const pieces = bodyText.split("--changesetresponse_");
  const subResponses: SubResponse[] = [];
  // The first piece is the batch preamble, the last the closing boundary.
  for (const piece of pieces.slice(1, -1)) {
    const statusText = /HTTP\/1\.1 (\d{3})/.exec(piece)?.[1];
    if (statusText === undefined) return { ok: false, failure: { status: 500, message: "A transaction sub-response has no status line" } };
    const subStatus = Number(statusText);
    if (subStatus < 200 || subStatus >= 300) return { ok: false, failure: failureOf(subStatus, piece) };
    const etag = /^ETag: *([^\r\n]*)/im.exec(piece)?.[1];
    subResponses.push(etag === undefined ? { status: subStatus } : { status: subStatus, etag });
  }
  return { ok: true, subResponses };
}
