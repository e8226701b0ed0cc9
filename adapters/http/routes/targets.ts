// The targets rtws syncs to, and an operator's pause of one. GET /targets: each configured
// target and whether it runs or is paused (by which token, when, why). POST /targets/:name/pause
// and /resume: every worker holds the target's intents back within about a second, and lets
// them go again; calls already sent finish. A pause lasts until resumed, across restarts.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NotFoundError } from '../../../core/errors.ts';
import { Nullable } from '../../../core/nullable.ts';
import type { Sql } from '../../postgres/connect.ts';
import {
  listPauses,
  pauseTarget,
  resumeTarget,
  type TargetPause,
} from '../../postgres/target-pauses.ts';
import { ProblemResponses } from './common.ts';

export interface TargetRoutesOptions {
  sql: Sql;
  /** The targets this deployment syncs to. */
  targets: readonly string[];
}

const TargetView = Type.Object({
  name: Type.String(),
  /** `on`, or `paused` by an operator: its intents wait. */
  state: Type.Union([Type.Literal('on'), Type.Literal('paused')]),
  paused_at: Nullable(Type.String()),
  /** The name of the token that paused it. */
  paused_by: Nullable(Type.String()),
  reason: Nullable(Type.String()),
});
type TargetView = Static<typeof TargetView>;

const Params = Type.Object({ name: Type.String({ pattern: '^[a-z]{1,40}$' }) });
/** A pause may say why; with no body it does not. */
const PauseBody = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
  { additionalProperties: false },
);

function viewOf(name: string, pause: TargetPause | undefined): TargetView {
  return {
    name,
    state: pause ? 'paused' : 'on',
    paused_at: pause?.pausedAt.toISOString() ?? null,
    paused_by: pause?.pausedBy ?? null,
    reason: pause?.reason ?? null,
  };
}

export const targetRoutes: FastifyPluginAsyncTypebox<TargetRoutesOptions> = async (
  app,
  { sql, targets },
) => {
  const known = (name: string) => {
    if (!targets.includes(name)) throw new NotFoundError(`target ${name}`);
  };

  app.get(
    '/targets',
    {
      schema: {
        response: { 200: Type.Object({ data: Type.Array(TargetView) }), ...ProblemResponses },
      },
    },
    async () => {
      const pauses = new Map((await listPauses(sql)).map((p) => [p.target, p]));
      return { data: targets.map((name) => viewOf(name, pauses.get(name))) };
    },
  );

  app.post(
    '/targets/:name/pause',
    {
      config: { scope: 'operate' },
      schema: {
        params: Params,
        body: PauseBody,
        response: { 200: TargetView, ...ProblemResponses },
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const { name } = request.params;
      known(name);
      const pause = await pauseTarget(sql, {
        target: name,
        by: request.apiToken?.name ?? 'unknown',
        reason: request.body.reason ?? null,
      });
      return viewOf(name, pause);
    },
  );

  app.post(
    '/targets/:name/resume',
    {
      config: { scope: 'operate' },
      schema: { params: Params, response: { 200: TargetView, ...ProblemResponses } },
    },
    async (request) => {
      const { name } = request.params;
      known(name);
      await resumeTarget(sql, name);
      return viewOf(name, undefined);
    },
  );
};
