/** One server-sent event carrying JSON, as OpenAI streams it; `event` names a typed event (the Responses API). */
export function sseFrame(payload: unknown, event?: string): string {
  return `${event === undefined ? "" : `event: ${event}\n`}data: ${JSON.stringify(payload)}\n\n`;
}
