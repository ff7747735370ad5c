import { createHmac } from "node:crypto";
import { type AuthorizedContext, authorize } from "../../auth/authorize.js";
import { type Principal } from "../../auth/Principal.js";
import { type Clock } from "../../clock.js";
import { PalisadeError } from "../../errors.js";
import { type DataClass, type Policy, type ProjectPolicy } from "../../policy/schema.js";
import { classify, maxDataClass } from "../../routing/classify.js";
import { type GatewayRequest } from "../GatewayRequest.js";
import { type InputInspection, inspectInput, sensitiveDataDetected } from "./inspectInput.js";
import { type Operation } from "./Operation.js";

/** Authorize: role or permission for the operation, IP allowlist, model allowlist, then the operation's policy bounds. */
export function authorizeStage<T>(operation: Operation<T>, request: T, principal: Principal, policy: Policy, input: GatewayRequest): AuthorizedContext {
  const context = authorize({
    principal,
    policy,
    requestedProject: input.requestedProject,
    permission: operation.permission,
    clientIp: input.clientIp,
    // An operation on something kept upstream learns its model when it is located (Operation.locate).
    model: operation.locate ? null : operation.model(request),
    modelMayBeDeployment: input.modelFromDeploymentPath === true,
  });
  operation.checkBounds(request, context.project);
  return context;
}

/** Inspect: DLP over every content field; a `block` refuses (the refusal counts what was found). */
export function inspectStage<T>(operation: Operation<T>, request: T, project: ProjectPolicy, declared: DataClass | undefined, clock: Clock): InputInspection<T> {
  const inspection = inspectInput(operation, request, project, declared ?? project.defaultClassification, clock);
  return inspection;
}

/** The refusal for a blocked inspection, if it was blocked. */
export function blockedInput(inspection: InputInspection<unknown>): PalisadeError | null {
  return inspection.action === "block" ? sensitiveDataDetected("prompt", inspection.counts) : null;
}

/**
 * Classify: the declared class (or the project's default) raised by the findings. Parts DLP cannot
 * read (images, audio, binary files, file ids) are refused unless the project says allow: what goes
 * upstream unread is an explicit opt-in, never a default.
 */
export function classifyStage(inspection: InputInspection<unknown>, project: ProjectPolicy, declared: DataClass | undefined): DataClass {
  const dataClass = classify({ declared, projectDefault: project.defaultClassification, dlpRaisedTo: inspection.raisedTo });
  if (inspection.uninspectable > 0) {
    if (project.uninspectableInputs !== "allow") {
      throw new PalisadeError(
        422,
        "invalid_request_error",
        "uninspectable_content",
        `The request has ${inspection.uninspectable} part(s) Palisade cannot inspect (images, audio, binary files or file ids), and this project does not allow them. Send text (text files are inspected), or ask the project owner to set uninspectableInputs: allow.`,
        { param: "messages" },
      );
    }
  }
  return dataClass;
}

export const raiseClass = (dataClass: DataClass, to: DataClass | undefined): DataClass => (to === undefined ? dataClass : maxDataClass(dataClass, to));

/**
 * The `user` sent upstream: a pseudonym (HMAC of project and user under a key derived from the
 * digest key), so the upstream's abuse monitoring can tell users apart without learning who they
 * are. Null (nothing sent) without a key or without a `user`.
 */
export function pseudonymousUser(digestKey: Uint8Array | null, project: ProjectPolicy, user: string | undefined): string | null {
  if (digestKey === null || user === undefined || user === "") return null;
  const key = createHmac("sha256", digestKey).update("palisade/upstream-user/v1").digest();
  return `pal-${createHmac("sha256", key).update(project.id).update("\u0000").update(user).digest("hex").slice(0, 32)}`;
}
