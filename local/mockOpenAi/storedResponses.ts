import { type ServerResponse } from "node:http";
import { type MockResponsesPlan, type StoredResponses, responseEvents, responseObject } from "./responses.js";

/** One call on a stored Response, as the route read it. */
export interface StoredResponseCall {
  readonly method: string;
  readonly id: string;
  readonly action: string | undefined;
  readonly query: URLSearchParams;
}

/**
 * The calls on a stored Response, as the Responses API answers them: `GET /responses/{id}`,
 * `DELETE /responses/{id}`, `POST /responses/{id}/cancel`, `GET /responses/{id}/input_items`. A
 * Response made with `background: true` was answered `queued`; each retrieve moves it on (`in_progress`,
 * then `completed` with its output and usage), as a background run that finishes after a poll or two.
 * `GET /responses/{id}?stream=true` replays its events (after `starting_after`, when given), as the
 * API resumes a background stream; a background run is completed by then.
 */
export class MockStoredResponseCalls {
  /** Background Responses: how many retrieves each has seen, and whether it was cancelled. */
  private readonly background = new Map<string, { polls: number; cancelled: boolean }>();

  constructor(private readonly stored: StoredResponses) {}

  /** A Response just made with `background: true`: answered (and kept) as queued. */
  queue(id: string): void {
    this.background.set(id, { polls: 0, cancelled: false });
  }

  statusOf(id: string): "queued" | "in_progress" | "cancelled" | "completed" {
    const run = this.background.get(id);
    if (run === undefined) return "completed";
    if (run.cancelled) return "cancelled";
    return run.polls === 0 ? "queued" : run.polls === 1 ? "in_progress" : "completed";
  }

  answer(response: ServerResponse, { method, id, action, query }: StoredResponseCall, served: Readonly<Record<string, string>>): void {
    const kept = this.stored.get(id);
    const send = (status: number, body: unknown): void => void response.writeHead(status, { "content-type": "application/json", ...served }).end(JSON.stringify(body));
    if (kept?.plan === undefined || kept.createdAt === undefined) {
      send(404, { error: { message: `Response with id '${id}' not found.`, type: "invalid_request_error", code: null, param: null } });
      return;
    }
    const { plan, createdAt } = kept;
    if (method === "GET" && action === undefined && query.get("stream") === "true") {
      const run = this.background.get(id);
      if (run !== undefined && !run.cancelled) run.polls = 2;
      const after = Number(query.get("starting_after") ?? -1);
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...served });
      for (const event of responseEvents(plan, createdAt)) if ((event.sequence_number as number) > after) response.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      response.end();
    } else if (method === "GET" && action === undefined) {
      const run = this.background.get(id);
      if (run !== undefined && !run.cancelled) run.polls += 1;
      send(200, responseObject(plan, createdAt, this.statusOf(id)));
    } else if (method === "DELETE" && action === undefined) {
      this.stored.delete(id);
      this.background.delete(id);
      send(200, { id, object: "response", deleted: true });
    } else if (method === "POST" && action === "cancel") {
      const run = this.background.get(id);
      if (run === undefined) {
        send(400, { error: { message: "Only responses created with background set to true can be cancelled.", type: "invalid_request_error", code: null, param: null } });
        return;
      }
      if (this.statusOf(id) !== "completed") run.cancelled = true;
      send(200, responseObject(plan, createdAt, this.statusOf(id)));
    } else if (method === "GET" && action === "input_items") {
      const data = inputItemsOf(plan);
      send(200, { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
    } else {
      send(404, { error: { message: `no route ${method} for a stored response`, type: "invalid_request_error", code: null, param: null } });
    }
  }
}

/** The input as the API lists it: items with ids, a string input as one user message. */
function inputItemsOf(plan: MockResponsesPlan): { readonly id: string; readonly [key: string]: unknown }[] {
  const input = plan.body.input;
  const items: unknown[] = typeof input === "string" ? [{ type: "message", role: "user", content: [{ type: "input_text", text: input }] }] : Array.isArray(input) ? input : [];
  return items.map((item, index) => {
    const fields = typeof item === "object" && item !== null ? (item as Record<string, unknown>) : {};
    const content = typeof fields.content === "string" ? [{ type: "input_text", text: fields.content }] : fields.content;
    return { id: `msg_in${index}_${plan.id.slice(5, 17)}`, type: "message", status: "completed", ...fields, ...(content === undefined ? {} : { content }) };
  });
}
