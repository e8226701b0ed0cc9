// The webhook receiver on a Fastify instance configured as the app's (strict validation,
// problem+json errors, bearer auth in front of everything), and reads of the INBOUND stream.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Names } from '../../core/subjects.ts';
import { CORRELATION_HEADER } from '../../core/correlation.ts';
import { tokenAuth } from '../../adapters/http/auth.ts';
import { errorHandler, problem, sendProblem } from '../../adapters/http/problem.ts';
import {
  stripeWebhookRoutes,
  type StripeWebhookOptions,
} from '../../adapters/http/routes/webhooks.ts';
import { validatorCompiler } from '../../adapters/http/validation.ts';
import { TEST_TOKEN } from '../harness/rtws.ts';
import { recordingLogger, SECRET } from './signing.ts';

export { eventBody, recordingLogger, ROTATED_SECRET, SECRET, sign } from './signing.ts';

export interface Receiver {
  app: FastifyInstance;
  url: string;
  registry: Registry;
  log: ReturnType<typeof recordingLogger>;
  close(): Promise<void>;
}

type ReceiverOptions = Omit<StripeWebhookOptions, 'log' | 'registry' | 'secrets'> & {
  secrets?: readonly string[];
};

/** Builds the receiver; `listen` also binds it to a free loopback port for real deliveries. */
export async function startReceiver(options: ReceiverOptions, listen = false): Promise<Receiver> {
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(404, `no route for ${request.method} ${request.url}`)),
  );
  tokenAuth(app, [{ name: 'default', scope: 'admin', token: TEST_TOKEN }]);
  const registry = new Registry();
  const log = recordingLogger();
  await app.register(stripeWebhookRoutes, { secrets: [SECRET], ...options, log, registry });
  // A token-protected neighbour: the webhook's raw-body parser and its public access stay its own.
  app.post('/echo', async (request) => ({
    parsed: typeof request.body === 'object' && !Buffer.isBuffer(request.body),
  }));
  const address = listen ? await app.listen({ host: '127.0.0.1', port: 0 }) : '';
  return { app, url: `${address}/webhooks/stripe`, registry, log, close: () => app.close() };
}

/** POSTs a body as Stripe does (no bearer token; only the signature, when given). */
export function deliver(
  app: FastifyInstance,
  payload: string | Buffer,
  signature?: string,
  contentType = 'application/json; charset=utf-8',
) {
  return app.inject({
    method: 'POST',
    url: '/webhooks/stripe',
    payload,
    headers: {
      'content-type': contentType,
      ...(signature === undefined ? {} : { 'stripe-signature': signature }),
    },
  });
}

export async function inboundCount(nc: NatsConnection, names: Names): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(names.streams.inbound)).state.messages;
}

/** The value of one labelled series of a counter, 0 when absent. */
export async function counter(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) =>
    Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  );
  return match?.value ?? 0;
}

export interface InboundMessage {
  subject: string;
  msgId: string | undefined;
  /** The correlation header: the event's id too. */
  correlation: string | undefined;
  data: Uint8Array;
}

/** Every message in the INBOUND stream, in order, with its exact bytes. */
export async function inboundMessages(nc: NatsConnection, names: Names): Promise<InboundMessage[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(names.streams.inbound);
  const out: InboundMessage[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(names.streams.inbound, { seq });
    if (m)
      out.push({
        subject: m.subject,
        msgId: m.header?.get('Nats-Msg-Id'),
        correlation: m.header?.get(CORRELATION_HEADER),
        data: m.data,
      });
  }
  return out;
}
