/** What the HTTP layer hands the gateway: headers already picked, the body already parsed as JSON. */
export interface GatewayRequest {
  readonly requestId: string;
  readonly authorization: string | null;
  /** The `api-key` header, as Azure OpenAI clients send it. */
  readonly apiKey: string | null;
  /** From `OpenAI-Project` or `x-palisade-project`. */
  readonly requestedProject: string | null;
  readonly dataClassHeader: string | undefined;
  readonly residencyHeader: string | undefined;
  /** The caller's address after trusted-hop resolution; null when unknown. */
  readonly clientIp: string | null;
  readonly traceparent: string | undefined;
  /** W3C `tracestate` that goes with `traceparent` (vendors' entries), carried upstream unchanged. */
  readonly tracestate?: string | undefined;
  /** `x-palisade-subject`: the end user the request is about (else the body's `user`). */
  readonly subjectHeader?: string | undefined;
  readonly body: unknown;
  /**
   * Set by Azure's deployment routes (`/openai/deployments/{deployment}/...`): the body's `model` is the
   * deployment in the path, resolved to one of the project's models by name, else by its deployment.
   */
  readonly modelFromDeploymentPath?: boolean;
}

export type ResponseHeaders = Readonly<Record<string, string>>;

export type GatewayResponse =
  | { readonly kind: "json"; readonly status: number; readonly headers: ResponseHeaders; readonly body: unknown }
  /** Server-sent events, each item one complete `data: ...\n\n` frame. */
  | { readonly kind: "stream"; readonly status: 200; readonly headers: ResponseHeaders; readonly events: AsyncIterable<string> };
