import { type Authenticator } from "../auth/Authenticator.js";
import { allowedModels, authorize } from "../auth/authorize.js";
import { PalisadeError } from "../errors.js";
import { type Policy } from "../policy/schema.js";
import { type GatewayRequest, type GatewayResponse } from "./GatewayRequest.js";

export interface ModelsDeps {
  readonly policy: Policy;
  readonly authenticator: Authenticator;
  /** Seconds since the epoch reported as `created` (the policy's load time). */
  readonly createdAtInSeconds: number;
}

type ModelsInput = Omit<GatewayRequest, "body" | "dataClassHeader" | "residencyHeader">;

/** `GET /v1/models[/{id}]`: the models this caller may use in its project, in OpenAI's shapes. */
export class ModelsService {
  constructor(private readonly deps: ModelsDeps) {}

  async list(input: ModelsInput): Promise<GatewayResponse> {
    const { models, project } = await this.allowed(input);
    return { kind: "json", status: 200, headers: { "x-request-id": input.requestId }, body: { object: "list", data: models.map((model) => this.modelObject(model.name, project)) } };
  }

  /** `GET /v1/models/{id}`: one of them; a model the project does not have is a 404, as OpenAI answers it. */
  async retrieve(input: ModelsInput, id: string): Promise<GatewayResponse> {
    const { models, project } = await this.allowed(input);
    if (!models.some((model) => model.name === id)) {
      const printable = id.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);
      throw new PalisadeError(404, "not_found_error", "not_found", `The model "${printable}" does not exist or is not enabled for this project; GET /v1/models lists the ones you may use.`, { param: "model" });
    }
    return { kind: "json", status: 200, headers: { "x-request-id": input.requestId }, body: this.modelObject(id, project) };
  }

  private async allowed(input: ModelsInput): Promise<{ models: ReturnType<typeof allowedModels>; project: string }> {
    const principal = await this.deps.authenticator.authenticate(input.authorization, input.apiKey);
    const context = authorize({ principal, policy: this.deps.policy, requestedProject: input.requestedProject, permission: "models.list", clientIp: input.clientIp });
    return { models: allowedModels(context), project: context.project.id };
  }

  private modelObject(id: string, project: string): Record<string, unknown> {
    return { id, object: "model", created: this.deps.createdAtInSeconds, owned_by: `palisade:${project}` };
  }
}
