// GET /customers/:id/timeline: what happened to a customer, read from the streams, oldest first.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CustomerId } from '../../../core/customer.ts';
import { NotFoundError } from '../../../core/errors.ts';
import { Nullable } from '../../../core/nullable.ts';
import { ProblemResponses } from './common.ts';

const Entry = Type.Object({
  /** When the stream stored it (ISO 8601). */
  at: Type.String(),
  /**
   * - `fact`: a captured change of the catalogue (`CustomerCreated`, …);
   * - `observation`: what the actor saw on a target (a Stripe event mapped to it, a Salesforce
   *   read or change, a catalogue row after a restore);
   * - `decision`: a write the actor decided and Postgres carried out (a merge, a match);
   * - `request`: an operator's retry or resync;
   * - `outcome`: an external call's result (created, updated, failed, …), naming its intent;
   * - `stripe_event`: a verified Stripe event about its Stripe customer, as received.
   */
  kind: Type.Union([
    Type.Literal('fact'),
    Type.Literal('observation'),
    Type.Literal('decision'),
    Type.Literal('request'),
    Type.Literal('outcome'),
    Type.Literal('stripe_event'),
  ]),
  /** A fact's origin (`api`, `stripe`, `salesforce`, …), the target, `rtws` or `operator`. */
  origin: Type.String(),
  /** The message type: `CustomerUpdated`, `StripeCustomerCreated`, `customer.updated`, … */
  type: Type.String(),
  /** Names fields, ids and reasons; never a field's value. */
  summary: Type.String(),
  stream: Type.String(),
  seq: Type.Integer(),
  subject: Type.String(),
  /**
   * What caused it: the API request's id, or the Stripe event's (the message's
   * `Rtws-Correlation-Id` header); absent on messages recorded without one.
   */
  correlation_id: Type.Optional(Type.String()),
});

const Pending = Type.Object({
  target: Type.String(),
  type: Type.String(),
  key: Nullable(Type.String()),
  attempt: Type.Integer(),
  not_before: Type.String(),
  /** Why it waits, when an operator paused the target; else null. */
  waiting: Nullable(Type.String()),
});

export const Timeline = Type.Object({
  customer_id: Type.String(),
  /** Oldest first: the latest `limit` entries. */
  entries: Type.Array(Entry),
  /** True when older entries were left out by `limit`. */
  more: Type.Boolean(),
  /**
   * True when INBOUND is longer than the window read for Stripe events: older ones are not shown
   * (the Stripe observations on the customer's own subject still are).
   */
  stripe_events_windowed: Type.Boolean(),
  /**
   * Intents waiting for their call: not recorded in the stream (their outcome is), so read from
   * the actor's snapshot.
   */
  pending: Type.Array(Pending),
});
export type Timeline = Static<typeof Timeline>;

export interface TimelineRoutesOptions {
  /** Undefined when the customer does not exist. */
  timeline: (customerId: string, limit: number) => Promise<Timeline | undefined>;
}

export const timelineRoutes: FastifyPluginAsyncTypebox<TimelineRoutesOptions> = async (
  app,
  { timeline },
) => {
  app.get(
    '/customers/:id/timeline',
    {
      schema: {
        tags: ['sync'],
        summary: "A customer's history from the streams, oldest first",
        params: Type.Object({ id: CustomerId }),
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) },
          { additionalProperties: false },
        ),
        response: { 200: Timeline, ...ProblemResponses },
      },
    },
    async (request) => {
      const t = await timeline(request.params.id, request.query.limit);
      if (!t) throw new NotFoundError('customer');
      return t;
    },
  );
};
