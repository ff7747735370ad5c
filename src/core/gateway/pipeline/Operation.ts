import { type DataClass, type EndpointPolicy, type Permission, type ProjectPolicy } from "../../policy/schema.js";
import { type CompletionCallOptions, type CompletionUsage } from "../../upstream/CompletionProvider.js";
import { type Reservation } from "../../limits/Reservation.js";
import { type TokenUsage } from "../../pricing/priceUsage.js";
import { type OutputScanner } from "./OutputScanner.js";

/**
 * An operation is what one kind of request does (chat, embeddings, responses): data plus the few
 * functions the governed pipeline needs from it. The pipeline runs the same stages for every
 * operation; only these functions know the body's shape. An operation holds its own provider port.
 */
export interface Operation<TRequest> {
  /** Stable name: audit events (`details.operation`), telemetry and usage reports carry it. */
  readonly name: string;
  /** What the caller needs in the project (service-account permission or role). */
  readonly permission: Permission;

  /** Checks and types the body; throws a 400 PalisadeError in OpenAI's shape on bad input. */
  parse(body: unknown): TRequest;
  /** The model the caller named (checked against the allowlist). */
  model(request: TRequest): string;
  /** The end user the body names (`user`), pseudonymised for the audit event; undefined when none. */
  endUser(request: TRequest): string | undefined;
  /** Policy bounds known once the project is (item counts, token caps); throws a 400 PalisadeError. */
  checkBounds(request: TRequest, project: ProjectPolicy): void;
  isStreamed(request: TRequest): boolean;
  /**
   * What the request continues upstream (a stored Response) must be the project's own; throws a 404
   * PalisadeError otherwise. Undefined when the request continues nothing (nothing to wait for).
   */
  checkContinuation?(request: TRequest, project: ProjectPolicy): Promise<void> | undefined;
  /**
   * An operation on something already kept upstream (a stored Response, by id) finds it for the
   * project: the request comes back naming the model it was made with (authorised like any model) and
   * the endpoint that keeps it (the only one it is routed to). Throws a 404 PalisadeError when it is
   * not the project's. Runs right after authorization, before anything is inspected or reserved; the
   * request's `model` is not checked before it.
   */
  locate?(request: TRequest, project: ProjectPolicy): Promise<Located<TRequest>>;
  /**
   * The last step before a plain answer that passed inspection goes out (a stored Response's owner is
   * recorded here). Its failure fails the request, but after the settlement: the call was paid, so its
   * usage counts. `upstreamBody` is what was sent upstream, `served` who answered. Undefined when there is nothing to do.
   */
  beforeRelease?(answer: PlainAnswer, upstreamBody: Readonly<Record<string, unknown>>, served: ServedBy): Promise<void> | undefined;

  /** Every field that carries content, each named by where it sits (never by what it says). */
  contents(request: TRequest): readonly ContentField[];
  /** Parts that cannot be inspected (images, audio, files); the project's `uninspectableInputs` decides. */
  uninspectableParts(request: TRequest): number;
  /** The request with some contents replaced (redactions), keyed by `ContentField.path`. */
  withContents(request: TRequest, replacements: ReadonlyMap<string, string>): TRequest;

  /**
   * Input tokens of everything the request sends the model (for TPM limits and budgets; see
   * estimateUpstreamTokens); called only when needed. `contents`: the request's content fields, when
   * the caller has listed them already.
   */
  estimateInputTokens(request: TRequest, contents?: readonly ContentField[]): number;
  /**
   * Output tokens reserved for the answer and sent upstream as its cap (so the upstream can never
   * answer beyond what was reserved); 0 for operations without output tokens (embeddings).
   */
  outputCap(request: TRequest, project: ProjectPolicy): number;
  /**
   * How many answers the upstream writes, each up to `outputCap` (chat's `n`: every choice is
   * generated and billed); absent: one. The reservation covers all of them.
   */
  answersPerRequest?(request: TRequest): number;
  /** The body sent upstream: governed fields set, everything else passed through as the caller sent it. */
  upstreamBody(request: TRequest, governed: GovernedFields): Readonly<Record<string, unknown>>;
  /** Output tokens of `texts` (answers cut short before the upstream reported usage are settled on it). */
  estimateOutputTokens(request: TRequest, texts: readonly string[]): number;

  /** May a plain answer be served from, and stored in, the response cache (the cache's own rules apply too)? */
  readonly cacheable: boolean;
  call(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: UpstreamCallOptions): Promise<PlainAnswer>;
  /** The body to send the caller, its output fields inspected with `scanner` (which counts and may block). */
  inspectAnswer(answer: PlainAnswer, scanner: OutputScanner): Readonly<Record<string, unknown>>;
  /** Absent when the operation cannot stream (embeddings). */
  readonly streaming?: OperationStreaming<TRequest>;
}

export interface UpstreamCallOptions extends CompletionCallOptions {
  /** The calling project (an operation that records what it made upstream, stored Responses, needs it). */
  readonly projectId?: string;
}

/** A request located upstream (Operation.locate): it names its model now, and the one endpoint that can serve it. */
export interface Located<TRequest> {
  readonly request: TRequest;
  readonly endpointId: string;
}

/** Who made a plain answer: the calling project and the endpoint that answered; what its settlement counted. */
export interface ServedBy {
  readonly projectId: string;
  readonly endpointId: string;
  /** The reservation and what its settlement counted (flat: no object more per request). */
  readonly reservation?: Reservation;
  readonly settledTokens?: TokenUsage;
}

/** One field that carries content. */
export interface ContentField {
  /** Where it sits, e.g. `messages[2].tool_calls[0].function.arguments`: names a place, never content. */
  readonly path: string;
  readonly text: string;
  /**
   * `identifier`: a name with a restricted alphabet ([A-Za-z0-9_-]); a redaction written back there
   * is made of that alphabet so the body stays valid.
   */
  readonly kind: "text" | "identifier";
  /**
   * Who wrote it, for content safety: `user` (the user's own words: Prompt Shields' user prompt),
   * `document` (third-party content: tool results, retrieved passages), `app` (system and developer
   * instructions, tool descriptions) or `model` (earlier answers). Absent counts as `app`.
   */
  readonly origin?: ContentOrigin;
  /** How a redacted text is written back when the field is stored encoded (a text file's base64 `file_data`). */
  readonly encode?: (text: string) => string;
  /** An object's key (a schema's property name, a metadata key): nothing can be written there, so a finding under `redact` refuses. */
  readonly readOnly?: true;
}

export type ContentOrigin = "user" | "document" | "app" | "model";

/** What Palisade decides about the body sent upstream, whatever the caller sent. */
export interface GovernedFields {
  /** The output cap reserved for (see `Operation.outputCap`). */
  readonly outputCap: number;
  /** The caller's `user`, pseudonymised; null to send none. */
  readonly user: string | null;
  /** The project and the request's class after classification (retention decisions such as Responses' `store` depend on them). */
  readonly project?: ProjectPolicy;
  readonly dataClass?: DataClass;
}

/** A whole upstream answer. */
export interface PlainAnswer {
  readonly body: Readonly<Record<string, unknown>>;
  readonly usage: CompletionUsage | null;
}

/** How an operation streams: the upstream's events in, SSE frames for the caller out. */
export interface OperationStreaming<TRequest> {
  open(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: UpstreamCallOptions): Promise<AsyncIterable<unknown>>;
  /** A session for one stream; it inspects output through `scanner`. */
  session(request: TRequest, scanner: OutputScanner): StreamSession;
}

/**
 * One stream's inspection and framing. Frames are complete SSE frames (`data: ...\n\n`, or with an
 * `event:` line for typed events). When `scanner.blocked` turns true the pipeline stops reading and
 * ends the stream with `errorFrame`.
 */
export interface StreamSession {
  /** The frames for one upstream event (held-back text is released later). */
  push(event: unknown): readonly string[];
  /** The upstream ended: what is still held back. */
  finish(): readonly string[];
  /** Usage the upstream reported, once it has. */
  usage(): CompletionUsage | null;
  /** Output texts received so far (to estimate usage of a stream cut short). */
  receivedTexts(): readonly string[];
  /** The frames that end a stream that was served (a usage frame if the caller asked, the end marker). */
  closingFrames(): readonly string[];
  /** The frame that ends a stream that failed after its headers went out (OpenAI clients raise it). */
  errorFrame(error: { readonly message: string; readonly type: string; readonly code: string }): string;
  /** The upstream goes on generating when the caller leaves (a background Response): settled at the reservation, not on what was received. */
  readonly runsOnWithoutCaller?: boolean;
  /** After such a stream was settled at the reservation (what it counted: `tokens`); never throws. */
  settledWithoutCaller?(reservation: Reservation, tokens: TokenUsage): Promise<void>;
}
