import functions, { type HttpRequest as HttpRequestType, type HttpResponse as HttpResponseType, type InvocationContext as InvocationContextType } from "@azure/functions";

/**
 * `@azure/functions` is CommonJS, and Node's ESM loader cannot see these classes as named exports
 * (vitest's interop can, which hides the problem). Take them from the default export.
 */
export const HttpRequest: typeof HttpRequestType = functions.HttpRequest;
export type HttpRequest = HttpRequestType;
export const HttpResponse: typeof HttpResponseType = functions.HttpResponse;
export type HttpResponse = HttpResponseType;
export const InvocationContext: typeof InvocationContextType = functions.InvocationContext;
export type InvocationContext = InvocationContextType;
