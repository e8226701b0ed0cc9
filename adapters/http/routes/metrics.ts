// Prometheus metrics. Gauges are read when scraped, from the components that own the numbers.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface BackfillGauge {
  readonly source: string;
  readonly state: string;
  readonly scanned: number;
  readonly totalEstimate: number | null;
  readonly counts: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly etaS: number | null;
}

export interface NatsTraffic {
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

export interface MetricSources {
  /** Outbox rows not yet published. */
  outboxDepth?: () => Promise<number>;
  publisher?: () => { published: number; leader: boolean } | undefined;
  /** Letters waiting in the DLQ. */
  dlqDepth?: () => Promise<number>;
  /** The newest backfill of each source. */
  backfills?: () => Promise<readonly BackfillGauge[]>;
  /** Where Stripe is synced: the webhook endpoint's silence, and a catch-up gap past retention. */
  stripeHealth?: () => Promise<{ silenceS: number; beyondRetention: boolean }>;
  /** This process's NATS connection: what it has sent and received since it connected. */
  nats?: () => NatsTraffic;
  /** Extra collectors registered by other components (workers, executors). */
  register?: (registry: Registry) => void;
}

export const metricsRoutes: FastifyPluginAsync<MetricSources> = async (app, sources) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rtws_process_' });

  const requests = new Counter({
    name: 'rtws_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'rtws_http_request_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'rtws_outbox_depth',
    help: 'Captured changes not yet published to JetStream',
    registers: [registry],
    async collect() {
      if (sources.outboxDepth) this.set(await sources.outboxDepth().catch(() => -1));
    },
  });
  new Gauge({
    name: 'rtws_dlq_depth',
    help: 'Dead letters waiting for an operator',
    registers: [registry],
    async collect() {
      if (sources.dlqDepth) this.set(await sources.dlqDepth().catch(() => -1));
    },
  });
  new Counter({
    name: 'rtws_outbox_published_total',
    help: 'Changes this process has published',
    registers: [registry],
    collect() {
      // The publisher's own count, which only grows, read on scrape.
      const s = sources.publisher?.();
      this.reset();
      if (s) this.inc(s.published);
    },
  });
  new Gauge({
    name: 'rtws_outbox_publisher_leader',
    help: '1 when this process is the active outbox publisher',
    registers: [registry],
    collect() {
      this.set(sources.publisher?.()?.leader ? 1 : 0);
    },
  });
  natsCounters(registry, sources.nats);
  stripeHealthGauges(registry, sources.stripeHealth);
  backfillGauges(registry, sources.backfills);
  sources.register?.(registry);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics of this process',
        response: {
          // Documents the text format only: Fastify sends a text body as it is.
          200: { content: { 'text/plain': { schema: Type.String() } } },
        },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};
function stripeHealthGauges(registry: Registry, read: MetricSources['stripeHealth']): void {
  if (!read) return;
  new Gauge({
    name: 'rtws_stripe_webhook_silence_seconds',
    help: "Seconds by which Stripe's newest event listed by catch-up is newer than the last webhook received",
    registers: [registry],
    async collect() {
      this.set(
        await read().then(
          (h) => h.silenceS,
          () => -1,
        ),
      );
    },
  });
  new Gauge({
    name: 'rtws_stripe_catch_up_beyond_retention',
    help: "1 when catch-up resumed from before Stripe's event retention, until a full reconciliation",
    registers: [registry],
    async collect() {
      this.set(
        await read().then(
          (h) => (h.beyondRetention ? 1 : 0),
          () => -1,
        ),
      );
    },
  });
}

/** The newest backfill of each source, read from Postgres once per scrape. */
function backfillGauges(registry: Registry, read: MetricSources['backfills']): void {
  if (!read) return;
  let scrape: Promise<readonly BackfillGauge[]> | undefined;
  // Every gauge of one scrape reads the same rows: the first asks, the others share its answer.
  const rows = () => (scrape ??= read().finally(() => setTimeout(() => (scrape = undefined), 0)));
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: Gauge, b: BackfillGauge) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const b of await rows().catch(() => [])) fill(this, b);
      },
    });
  gauge(
    'rtws_backfill_running',
    '1 while the newest backfill of a source runs',
    ['source'],
    (g, b) => g.set({ source: b.source }, b.state === 'running' ? 1 : 0),
  );
  gauge(
    'rtws_backfill_scanned',
    'Records the newest backfill of a source has scanned',
    ['source'],
    (g, b) => g.set({ source: b.source }, b.scanned),
  );
  gauge('rtws_backfill_total_estimate', 'Its estimated size (-1: unknown)', ['source'], (g, b) =>
    g.set({ source: b.source }, b.totalEstimate ?? -1),
  );
  gauge('rtws_backfill_eta_seconds', 'Seconds it still needs (-1: unknown)', ['source'], (g, b) =>
    g.set({ source: b.source }, b.etaS ?? -1),
  );
  gauge('rtws_backfill_errors', 'Pages of it that failed and were retried', ['source'], (g, b) =>
    g.set({ source: b.source }, b.errors),
  );
  gauge('rtws_backfill_decisions', 'Its records, by decision', ['source', 'decision'], (g, b) => {
    for (const [decision, n] of Object.entries(b.counts)) g.set({ source: b.source, decision }, n);
  });
}

/**
 * The NATS traffic of the process's main connection (the publisher's thread has one of its own:
 * a publish and its PubAck per change). Divided by the changes synced, it is the messages a
 * change costs, for sizing nats-server (docs/scaling.md). Counters, set from the connection's own
 * counts on each scrape.
 */
function natsCounters(registry: Registry, nats: MetricSources['nats']): void {
  if (!nats) return;
  const counted = (name: string, help: string, read: (s: NatsTraffic) => [number, number]) =>
    new Counter({
      name,
      help,
      labelNames: ['direction'],
      registers: [registry],
      collect() {
        const [sent, received] = read(nats());
        this.reset();
        this.inc({ direction: 'sent' }, sent);
        this.inc({ direction: 'received' }, received);
      },
    });
  counted(
    'rtws_nats_messages_total',
    "Messages this process's NATS connection has sent and received",
    (s) => [s.outMsgs, s.inMsgs],
  );
  counted(
    'rtws_nats_bytes_total',
    "Bytes this process's NATS connection has sent and received",
    (s) => [s.outBytes, s.inBytes],
  );
}

// Not encapsulated: the onResponse hook must see every route, not only this plugin's.
Object.assign(metricsRoutes, { [Symbol.for('skip-override')]: true });
