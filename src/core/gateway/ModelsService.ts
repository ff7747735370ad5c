import { type Authenticator } from "../auth/Authenticator.js";
import { allowedModels, authorize } from "../auth/authorize.js";
import { type Policy } from "../policy/schema.js";
import { type GatewayRequest, type GatewayResponse } from "./GatewayRequest.js";

export interface ModelsDeps {
  readonly policy: Policy;
  readonly authenticator: Authenticator;
  /** Seconds since the epoch reported as `created` (the policy's load time). */
  readonly createdAtInSeconds: number;
}

/** `GET /v1/models`: the models this caller may use in its project, in OpenAI's list shape. */
export class ModelsService {
  constructor(private readonly deps: ModelsDeps) {}

  async list(input: Omit<GatewayRequest, "body" | "dataClassHeader" | "residencyHeader">): Promise<GatewayResponse> {
    const principal = await this.deps.authenticator.authenticate(input.authorization, input.apiKey);
    const context = authorize({ principal, policy: this.deps.policy, requestedProject: input.requestedProject, permission: "models.list", clientIp: input.clientIp });
    const data = allowedModels(context).map((model) => ({ id: model.name, object: "model", created: this.deps.createdAtInSeconds, owned_by: `palisade:${context.project.id}` }));
    return { kind: "json", status: 200, headers: { "x-request-id": input.requestId }, body: { object: "list", data } };
  }
}
