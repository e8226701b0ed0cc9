import type { Reply } from '../http.ts';
import { notFound } from '../errors.ts';
import type { EmulatorState, RestRequest } from '../state.ts';

/** A matched REST endpoint: its name (for the per-endpoint counters) and its handler. */
export interface Route {
  readonly name: string;
  run(req: RestRequest, state: EmulatorState): Reply;
}

export function methodNotAllowed(method: string, allowed: string): Route {
  return {
    name: 'method-not-allowed',
    run: () => ({
      status: 405,
      body: [
        {
          errorCode: 'METHOD_NOT_ALLOWED',
          message: `HTTP Method '${method}' not allowed. Allowed are ${allowed}`,
        },
      ],
    }),
  };
}

/** An unknown resource: 404 NOT_FOUND. */
export const notFoundRoute: Route = {
  name: 'not-found',
  run: () => {
    throw notFound();
  },
};
