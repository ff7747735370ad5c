/** A W3C span context (the shape OpenTelemetry's SpanContext has, without its SDK). */
export interface SpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
}

/** The W3C `sampled` trace flag. */
const SAMPLED = 0x01;

const TRACEPARENT = /^(?!ff)[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;
const ALL_ZEROS = /^0+$/;

/** The remote span context of a W3C `traceparent` (version-traceid-parentid-flags); null when malformed. */
export function parseTraceparent(traceparent: string | undefined): SpanContext | null {
  if (traceparent === undefined) return null;
  const match = TRACEPARENT.exec(traceparent);
  const traceId = match?.[1];
  const spanId = match?.[2];
  const flags = match?.[3];
  if (traceId === undefined || spanId === undefined || flags === undefined) return null;
  if (ALL_ZEROS.test(traceId) || ALL_ZEROS.test(spanId)) return null;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & SAMPLED, isRemote: true };
}

/** The `traceparent` that names `context` as the parent of the next hop. */
export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.traceFlags & SAMPLED ? "01" : "00"}`;
}
