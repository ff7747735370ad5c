import { type HttpFunctionOptions } from "@azure/functions";

export interface HttpRoute {
  readonly name: string;
  readonly options: HttpFunctionOptions;
  readonly methods: ReadonlySet<string>;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
  /** Ends in `{*name}`: matched only when no other route does, as ASP.NET routing (the Functions host's) orders them. */
  readonly catchAll: boolean;
}

/** Compiles a Functions route template (`v1/models/{model}`, `{rest?}`) into a matcher. */
export function compileRoute(name: string, options: HttpFunctionOptions): HttpRoute {
  const template = (options.route ?? name).replace(/^\/+|\/+$/g, "");
  const paramNames: string[] = [];
  let catchAllRoute = false;
  const source = template
    .split("/")
    .map((segment) => {
      const param = /^\{(\*?)([A-Za-z_][\w]*)(:[^}?]+)?(\?)?\}$/.exec(segment);
      if (!param) return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`;
      paramNames.push(param[2] ?? "");
      const catchAll = param[1] === "*";
      catchAllRoute ||= catchAll;
      const body = catchAll ? "(.*)" : "([^/]+)";
      // A catch-all also matches nothing (as ASP.NET routing, which the Functions host uses, does).
      return param[4] || catchAll ? `(?:/${body})?` : `/${body}`;
    })
    .join("");
  const methods = new Set((options.methods ?? ["GET", "POST"]).map((method) => method.toUpperCase()));
  return { name, options, methods, pattern: new RegExp(`^${source}/?$`, "i"), paramNames, catchAll: catchAllRoute };
}

/** The first route whose template and method match, as the Functions host routes; else the first whose template matches. */
export function matchRoute(routes: readonly HttpRoute[], path: string, method: string): { route: HttpRoute; params: Record<string, string> } | null {
  const byMethod = routes.filter((route) => route.methods.has(method));
  return matchIn(byMethod, path) ?? matchIn(routes, path);
}

function matchIn(routes: readonly HttpRoute[], path: string): { route: HttpRoute; params: Record<string, string> } | null {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    let decodable = true;
    route.paramNames.forEach((paramName, index) => {
      const value = match[index + 1];
      if (value === undefined) return;
      try {
        params[paramName] = decodeURIComponent(value);
      } catch {
        decodable = false;
      }
    });
    // A malformed percent-encoding names no resource: no match (a 404), never a crash.
    if (decodable) return { route, params };
  }
  return null;
}
