import { type HttpFunctionOptions, type ServiceBusQueueFunctionOptions, type TimerFunctionOptions, app } from "@azure/functions";

/**
 * Every function file exports its definition and registers it through `defineFunction`, so Azure
 * (through `app.*`) and the local host (through the exported `definition`) serve the very same
 * triggers, routes and handlers.
 */
export type FunctionDefinition =
  | { readonly kind: "http"; readonly name: string; readonly options: HttpFunctionOptions }
  | { readonly kind: "timer"; readonly name: string; readonly options: TimerFunctionOptions }
  | { readonly kind: "serviceBusQueue"; readonly name: string; readonly options: ServiceBusQueueFunctionOptions };

export function defineFunction<T extends FunctionDefinition>(definition: T): T {
  switch (definition.kind) {
    case "http":
      app.http(definition.name, definition.options);
      break;
    case "timer":
      app.timer(definition.name, definition.options);
      break;
    case "serviceBusQueue":
      app.serviceBusQueue(definition.name, definition.options);
      break;
  }
  return definition;
}
