import { type FrontDoor } from "./operationRoute.js";

/**
 * The front door of the routes on a stored Response (`/responses/{id}[/...]`): the request is the id
 * in the path and the query's pairs (`include[]`, paging); the body, if any, is not read.
 */
export const storedResponseFromPath: FrontDoor = (input, request) => ({
  ...input,
  body: { response_id: request.params.id ?? "", query: [...request.query.entries()] },
});
