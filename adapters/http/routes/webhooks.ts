// POST /webhooks/stripe: verify the signature on the raw body, publish the event durably, and only
// then answer 2xx. A bad signature or body is a 400 (Stripe gives up); our own outage is a 503
// (Stripe retries), so a verified event is never acknowledged without being stored. So is an
// event that comes while the process has not verified which Stripe account its key belongs to.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Counter, Registry } from 'prom-client';
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { PublishReceipt } from '../../jetstream/inbound.ts';
import { STRIPE_API_VERSION } from '../../stripe/client.ts';
import { stripeCustomerOf } from '../../stripe/event-customer.ts';
import {
  MalformedWebhookError,
  WebhookSecretsMissingError,
  WebhookSignatureError,
  apiVersionWatch,
  clockWatch,
  isHandledEventType,
  verifyStripeWebhook,
  StripeEventEnvelope,
} from '../../stripe/webhooks.ts';
import { problem, sendProblem } from '../problem.ts';
import { ProblemResponses } from './common.ts';
import { withTimeout } from '../../../core/timeout.ts';

export interface StripeWebhookOptions {
  /** Signing secrets (`whsec_…`); several during a rotation, any one may sign. */
  secrets: readonly string[];
  /** The `DurablePublisher` port: resolves after the PubAck; may report a deduplicated message. */
  publish: (subject: string, payload: Uint8Array, msgId: string) => Promise<PublishReceipt | void>;
  names: Names;
  /** Defaults to the Fastify instance's logger. */
  log?: Logger;
  /** Where the webhook counters are registered; a private registry when absent. */
  registry?: Registry;
  /** The longest wait for a PubAck before answering 503; default 5 s, well inside Stripe's timeout. */
  timeoutMs?: number;
  /** Told of every delivery that passed the signature check: the endpoint and its secret work. */
  onVerified?: () => void;
  /**
   * Whether the Stripe account this process's key belongs to is known to be the bound one. Until
   * it is (Stripe cannot say yet, or said another account), deliveries are answered 503 and
   * nothing is stored: after a key switch, the other account's events never reach INBOUND, and
   * Stripe retries the bound account's for three days. Default: always.
   */
  accountVerified?: () => boolean;
  /** Default 512 KiB: a 413 would be retried by Stripe until it gives up, so this route allows more than the API. */
  bodyLimit?: number;
}

/** The `outcome` label of `rtws_webhooks_received_total`. */
export type WebhookOutcome =
  'published' | 'duplicate' | 'ignored' | 'bad_signature' | 'malformed' | 'unavailable';

const Received = Type.Object({
  received: Type.Literal(true),
  outcome: Type.Union([
    Type.Literal('published'),
    Type.Literal('duplicate'),
    Type.Literal('ignored'),
  ]),
});

function webhookCounters(registry: Registry) {
  const received = new Counter({
    name: 'rtws_webhooks_received_total',
    help: 'Stripe webhook deliveries by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const ignored = new Counter({
    name: 'rtws_webhooks_ignored_total',
    help: 'Verified Stripe events of types rtws does not handle',
    labelNames: ['type'],
    registers: [registry],
  });
  return {
    received: (outcome: WebhookOutcome) => received.inc({ outcome }),
    ignored: (type: string) => ignored.inc({ type }),
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const stripeWebhookRoutes: FastifyPluginAsync<StripeWebhookOptions> = async (
  app,
  options,
) => {
  if (options.secrets.length === 0) throw new WebhookSecretsMissingError();
  const log = options.log ?? app.log;
  const counters = webhookCounters(options.registry ?? new Registry());
  const watchApiVersion = apiVersionWatch(STRIPE_API_VERSION, log);
  const watchClock = clockWatch(log);
  const timeoutMs = options.timeoutMs ?? 5_000;

  // The signature covers the exact bytes, so this plugin keeps them (its parsers are scoped to
  // it). Stripe sends JSON only; any other type, text included, is a 415 from Fastify.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  const rejected = (
    reply: FastifyReply,
    outcome: 'bad_signature' | 'malformed',
    err: WebhookSignatureError | MalformedWebhookError,
  ) => {
    counters.received(outcome);
    // The reason only: the header, the secrets and the body (customer data) stay out of logs.
    log.info({ outcome, reason: err.message }, 'Stripe webhook rejected');
    const field = err instanceof MalformedWebhookError ? err.field : 'stripe-signature';
    return sendProblem(
      reply,
      problem(400, err.message, { code: outcome, ...(field ? { field } : {}) }),
    );
  };

  /** Resolves once JetStream has stored the event (or already had it); rejects on no PubAck in time. */
  const store = async (
    event: StripeEventEnvelope,
    raw: Buffer,
  ): Promise<'published' | 'duplicate'> => {
    // In the partition of its Stripe customer: one customer's events are mapped in order.
    const subject = options.names.inboundSubject('stripe', event.type, stripeCustomerOf(event));
    const receipt = await withTimeout(options.publish(subject, raw, event.id), timeoutMs, 'PubAck');
    return receipt?.duplicate ? 'duplicate' : 'published';
  };

  app.post(
    '/webhooks/stripe',
    {
      config: {
        public: true,
        // Checked by the route, on the raw bytes: shown in the API's document, not validated.
        openapi: {
          body: StripeEventEnvelope,
          headers: Type.Object({ 'stripe-signature': Type.String() }),
          description:
            'Stripe delivers its events here, signed with one of `STRIPE_WEBHOOK_SECRET`. ' +
            'A 200 means the event is stored; a bad signature or body is a 400, and a 503 asks ' +
            'Stripe to retry.',
        },
      },
      bodyLimit: options.bodyLimit ?? 512 * 1024,
      schema: {
        tags: ['webhooks'],
        summary: 'Receive a Stripe event',
        response: { 200: Received, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      let event: StripeEventEnvelope;
      try {
        event = verifyStripeWebhook(
          request.body as Buffer | undefined, // only the parser above yields a body
          request.headers['stripe-signature'],
          options.secrets,
        );
      } catch (err) {
        if (err instanceof MalformedWebhookError) return rejected(reply, 'malformed', err);
        if (err instanceof WebhookSignatureError) return rejected(reply, 'bad_signature', err);
        throw err;
      }
      const about = { event_id: event.id, type: event.type };
      if (options.accountVerified && !options.accountVerified()) {
        counters.received('unavailable');
        log.warn(
          about,
          "Stripe webhook not stored: the Stripe key's account is not verified as the bound one; answering 503 so Stripe retries",
        );
        reply.header('retry-after', '5');
        return sendProblem(
          reply,
          problem(503, 'the Stripe account is not verified yet; retry shortly', {
            code: 'unavailable',
          }),
        );
      }
      options.onVerified?.();
      watchApiVersion(event);
      watchClock(request.headers['stripe-signature']);
      if (!isHandledEventType(event.type)) {
        counters.received('ignored');
        counters.ignored(event.type);
        log.debug(about, 'Stripe webhook of an unhandled type ignored');
        return reply.code(200).send({ received: true, outcome: 'ignored' });
      }
      let outcome: 'published' | 'duplicate';
      try {
        outcome = await store(event, request.body as Buffer);
      } catch (err) {
        counters.received('unavailable');
        log.warn(
          { ...about, reason: errorMessage(err) },
          'Stripe webhook not stored; answering 503 so Stripe retries',
        );
        reply.header('retry-after', '1');
        return sendProblem(
          reply,
          problem(503, 'the event could not be stored; retry shortly', { code: 'unavailable' }),
        );
      }
      counters.received(outcome);
      log.debug({ ...about, outcome }, 'Stripe webhook stored');
      return reply.code(200).send({ received: true, outcome });
    },
  );
};
