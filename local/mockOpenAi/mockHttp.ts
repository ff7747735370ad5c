import { type IncomingMessage, type ServerResponse } from "node:http";

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** An OpenAI-shaped error answer; `retry-after` and `retry-after-ms` when the fault asks for them. */
export function sendError(response: ServerResponse, status: number, message: string, retryAfterSeconds?: number, code?: string): void {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (retryAfterSeconds !== undefined) {
    headers["retry-after"] = String(retryAfterSeconds);
    headers["retry-after-ms"] = String(Math.round(retryAfterSeconds * 1000));
  }
  // The mock never wants the SDK to retry on its own: the gateway decides.
  headers["x-should-retry"] = "false";
  response.writeHead(status, headers);
  response.end(JSON.stringify({ error: { message, type: status === 429 ? "rate_limit_error" : "api_error", code: code ?? String(status), param: null } }));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes one server-sent event's `data:` line. */
export const sendEventData = (response: ServerResponse, payload: unknown): void => void response.write(`data: ${JSON.stringify(payload)}\n\n`);
