// GET /status: the overview an operator watches, cheap enough to poll every 2 s. Each target's
// state, bound account and customers by sync status; the outbox, the streams and their consumers'
// lag; the DLQ and the conflicts; monotonic counters for rates; and the work in progress.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import { Nullable } from '../../../core/nullable.ts';
import { ProblemResponses } from './common.ts';
import { Counters, countersOf } from './status-counters.ts';

const Count = Type.Integer({ minimum: 0 });

const TargetStatus = Type.Object({
  name: Type.String(),
  /** `on`; `paused` by an operator (intents wait); `off`: not configured in this deployment. */
  state: Type.Union([Type.Literal('on'), Type.Literal('paused'), Type.Literal('off')]),
  /** The account (Stripe) or organization (Salesforce) this database is bound to; null if none. */
  account: Nullable(
    Type.Object({ id: Type.String(), livemode: Type.Boolean(), bound_at: Type.String() }),
  ),
  /**
   * Customers by the target's sync status, as GET /customers/:id/sync shows it (`waiting`: a
   * pending intent of a paused target). Counted from the actors' snapshots, at most every few
   * seconds: `counted_at` says when (null before a first count, or where no worker stores any).
   */
  customers: Type.Object({
    synced: Count,
    pending: Count,
    retrying: Count,
    failed: Count,
    unlinked: Count,
    waiting: Count,
  }),
  counted_at: Nullable(Type.String()),
});

const StreamStatus = Type.Object({
  /** `CHANGES`, `INVOICES`, `INBOUND` or `DLQ`. */
  stream: Type.String(),
  /** Its name on the server, with the namespace. */
  name: Type.String(),
  messages: Count,
  /** Its consumers' pending plus unacknowledged messages. */
  consumer_lag: Count,
  consumers: Count,
});

const Work = Type.Object({
  id: Type.Integer(),
  kind: Type.Union([Type.Literal('backfill'), Type.Literal('reconciliation')]),
  /** `stripe` or `postgres` for a backfill, `reconcile` for a reconciliation. */
  source: Type.String(),
  state: Type.Union([Type.Literal('running'), Type.Literal('paused')]),
  done: Count,
  /** An estimate, null until known. */
  total: Nullable(Count),
  eta_s: Nullable(Count),
  started_at: Type.String(),
});

/** Everything but the counters, which the route reads from its own registry. */
export const StatusReport = Type.Object({
  targets: Type.Array(TargetStatus),
  outbox: Type.Object({ depth: Count, oldest_age_s: Count }),
  streams: Type.Array(StreamStatus),
  dlq: Type.Object({ depth: Count }),
  /** Conflicts have no open or closed state: every recorded one, whoever won. */
  conflicts: Type.Object({ total: Count }),
  /** Backfills and reconciliations running or paused. */
  work: Type.Array(Work),
});
export type StatusReport = Static<typeof StatusReport>;

const Status = Type.Composite([
  StatusReport,
  Type.Object({
    counters: Counters,
    /** When this process started counting: totals restart from 0 with the process. */
    counters_since: Type.String(),
    at: Type.String(),
  }),
]);

export interface StatusRoutesOptions {
  report: () => Promise<StatusReport>;
  /** The process's metrics, for the counters. */
  registry?: Registry | undefined;
}

const started = new Date().toISOString();

export const statusRoutes: FastifyPluginAsyncTypebox<StatusRoutesOptions> = async (
  app,
  { report, registry },
) => {
  app.get(
    '/status',
    {
      schema: {
        tags: ['operations'],
        summary: 'The overview: targets, backlogs, counters and work in progress',
        response: { 200: Status, ...ProblemResponses },
      },
    },
    async () => {
      const [r, counters] = await Promise.all([report(), countersOf(registry)]);
      return { ...r, counters, counters_since: started, at: new Date().toISOString() };
    },
  );
};
