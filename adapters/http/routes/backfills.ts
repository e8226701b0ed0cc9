// Backfills: imports from Stripe and exports from the catalogue, started, read and controlled over
// HTTP. A backfill is run by a worker process (backfill-runner.ts), a page at a time; a dry run is
// answered here, at once, and writes nothing.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ConflictError, NotFoundError, ValidationError } from '../../../core/errors.ts';
import { Nullable } from '../../../core/nullable.ts';
import type { Sql } from '../../postgres/connect.ts';
import {
  ambiguitiesOf,
  BACKFILL_SOURCES,
  BACKFILL_STATES,
  createBackfill,
  getBackfill,
  listBackfills,
  progressOf,
  transition,
  type Backfill,
  type BackfillOptions,
  type BackfillSource,
  type BackfillState,
} from '../../postgres/backfills.ts';
import { ProblemResponses, PageQuery } from './common.ts';

export interface BackfillRoutesOptions {
  readonly sql: Sql;
  /** False without a Stripe key: there is nothing to import from. */
  readonly canImport: boolean;
  /** Decides every page of a backfill, publishing and saving nothing. */
  readonly dryRun: (
    source: BackfillSource,
    options: BackfillOptions,
  ) => Promise<Static<typeof DryRunView>>;
  /** The targets an export offers customers to. */
  readonly targets: readonly string[];
  /** Tells this process's runner, if it has one, that there is work. */
  readonly kick?: () => void;
}

const Start = Type.Object(
  {
    source: Type.Union(BACKFILL_SOURCES.map((s) => Type.Literal(s))),
    dry_run: Type.Optional(Type.Boolean()),
    adopt_orphans: Type.Optional(Type.Boolean()),
    write_back: Type.Optional(Type.Boolean()),
    objects: Type.Optional(
      Type.Array(Type.Union([Type.Literal('customer'), Type.Literal('invoice')]), {
        minItems: 1,
        uniqueItems: true,
      }),
    ),
  },
  { additionalProperties: false },
);

const Decision = Type.Object({ id: Type.String(), decision: Type.String(), reason: Type.String() });

export const View = Type.Object({
  id: Type.Integer(),
  source: Type.String(),
  state: Type.Union(BACKFILL_STATES.map((s) => Type.Literal(s))),
  options: Type.Record(Type.String(), Type.Unknown()),
  scanned: Type.Integer(),
  total_estimate: Nullable(Type.Integer()),
  counts: Type.Record(Type.String(), Type.Integer()),
  errors: Type.Integer(),
  last_error: Nullable(Type.String()),
  rate_per_s: Nullable(Type.Number()),
  eta_s: Nullable(Type.Integer()),
  started_at: Type.String(),
  ended_at: Nullable(Type.String()),
  updated_at: Type.String(),
  decisions: Type.Array(Decision),
});

const DryRunView = Type.Object({
  dry_run: Type.Literal(true),
  source: Type.String(),
  scanned: Type.Integer(),
  counts: Type.Record(Type.String(), Type.Integer()),
  decisions: Type.Array(Decision),
  ambiguities: Type.Integer(),
});

/** Params are text and never coerced: a backfill id is a positive whole number. */
export const Params = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,14}$' }) });

export function backfillView(b: Backfill): Static<typeof View> {
  const { ratePerS, etaS } = progressOf(b);
  return {
    id: b.id,
    source: b.source,
    state: b.state,
    options: { ...b.options },
    scanned: b.scanned,
    total_estimate: b.totalEstimate,
    counts: { ...b.counts },
    errors: b.errors,
    last_error: b.error,
    rate_per_s: ratePerS,
    eta_s: etaS,
    started_at: b.startedAt.toISOString(),
    ended_at: b.endedAt?.toISOString() ?? null,
    updated_at: b.updatedAt.toISOString(),
    decisions: [...b.decisions],
  };
}

/** The moves an operator may make, from the states each is allowed in. */
export const MOVES: Record<'pause' | 'resume' | 'cancel', [BackfillState[], BackfillState]> = {
  pause: [['running'], 'paused'],
  resume: [['paused'], 'running'],
  cancel: [['running', 'paused'], 'cancelled'],
};

export const backfillRoutes: FastifyPluginAsyncTypebox<BackfillRoutesOptions> = async (
  app,
  { sql, canImport, dryRun, targets, kick },
) => {
  app.post(
    '/backfills',
    {
      config: { scope: 'operate' },
      schema: {
        tags: ['operations'],
        summary:
          'Start a backfill (import from Stripe or export from the catalogue), or dry-run one',
        body: Start,
        response: { 200: DryRunView, 202: View, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { source, dry_run, adopt_orphans, write_back, objects } = request.body;
      for (const [field, given] of [
        ['adopt_orphans', adopt_orphans],
        ['write_back', write_back],
      ] as const)
        if (given !== undefined && source !== 'stripe')
          throw new ValidationError(`${field} applies to an import from Stripe only`, field);
      if (objects !== undefined && source !== 'stripe')
        throw new ValidationError('objects applies to an import from Stripe only', 'objects');
      if (source === 'stripe' && !canImport)
        throw new ValidationError(
          'no STRIPE_SECRET_KEY is configured: nothing to import from',
          'source',
        );
      const options = {
        ...(adopt_orphans !== undefined ? { adopt_orphans } : {}),
        ...(write_back !== undefined ? { write_back } : {}),
        ...(objects !== undefined ? { objects: [...objects] } : {}),
        ...(source === 'postgres' ? { targets: [...targets] } : {}),
      };
      if (dry_run) return reply.code(200).send(await dryRun(source, options));
      const created = await createBackfill(sql, source, options);
      request.log.info({ backfill: created.id, source }, 'backfill started');
      kick?.();
      return reply
        .code(202)
        .header('location', `/backfills/${created.id}`)
        .send(backfillView(created));
    },
  );

  app.get(
    '/backfills',
    {
      schema: {
        tags: ['operations'],
        summary: 'List backfills, newest first',
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ data: Type.Array(View) }), ...ProblemResponses },
      },
    },
    async (request) => ({
      data: (await listBackfills(sql, request.query.limit)).map(backfillView),
    }),
  );

  app.get(
    '/backfills/:id',
    {
      schema: {
        tags: ['operations'],
        summary: 'Get a backfill and its progress',
        params: Params,
        response: { 200: View, ...ProblemResponses },
      },
    },
    async (request) => {
      const b = await getBackfill(sql, Number(request.params.id));
      if (!b) throw new NotFoundError('backfill');
      return backfillView(b);
    },
  );

  for (const move of ['pause', 'resume', 'cancel'] as const) {
    const [from, to] = MOVES[move];
    app.post(
      `/backfills/:id/${move}`,
      {
        config: { scope: 'operate' },
        schema: {
          tags: ['operations'],
          summary: `${move[0]!.toUpperCase()}${move.slice(1)} a backfill`,
          params: Params,
          response: { 200: View, ...ProblemResponses },
        },
      },
      async (request) => {
        const moved = await transition(sql, Number(request.params.id), from, to);
        if (moved) {
          request.log.info({ backfill: moved.id, state: to }, `backfill ${move}d`);
          if (to === 'running') kick?.();
          return backfillView(moved);
        }
        const b = await getBackfill(sql, Number(request.params.id));
        if (!b) throw new NotFoundError('backfill');
        throw new ConflictError(
          `backfill ${b.id} is ${b.state}: only a ${from.join(' or ')} one can ${move}`,
        );
      },
    );
  }

  app.get(
    '/backfills/:id/ambiguities',
    {
      schema: {
        tags: ['operations'],
        summary: 'List the ambiguous matches a backfill met',
        params: Params,
        querystring: PageQuery(Type.String({ minLength: 1, maxLength: 255 }), { defaultLimit: 50 }),
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object({
                stripe_id: Type.String(),
                email: Nullable(Type.String()),
                customers: Type.Array(Type.String()),
                stripe_ids: Type.Array(Type.String()),
                found_at: Type.String(),
              }),
            ),
            next_cursor: Nullable(Type.String()),
          }),
          ...ProblemResponses,
        },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      if (!(await getBackfill(sql, Number(request.params.id)))) throw new NotFoundError('backfill');
      const rows = await ambiguitiesOf(sql, Number(request.params.id), limit, cursor);
      return {
        data: rows.map((a) => ({
          stripe_id: a.stripeId,
          email: a.email,
          customers: [...a.customers],
          stripe_ids: [...a.stripeIds],
          found_at: a.foundAt.toISOString(),
        })),
        next_cursor: rows.length === limit ? rows.at(-1)!.stripeId : null,
      };
    },
  );
};
