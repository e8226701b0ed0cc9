// Prometheus metrics. Gauges are read when scraped, from the components that own the numbers.
import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricSources {
  /** Outbox rows not yet published. */
  outboxDepth?: () => Promise<number>;
  publisher?: () => { published: number; leader: boolean } | undefined;
  /** Letters waiting in the DLQ. */
  dlqDepth?: () => Promise<number>;
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
  new Gauge({
    name: 'rtws_outbox_published_total',
    help: 'Changes this process has published (a gauge of its counter, read on scrape)',
    registers: [registry],
    collect() {
      const s = sources.publisher?.();
      if (s) this.set(s.published);
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
  sources.register?.(registry);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
};
// Not encapsulated: the onResponse hook must see every route, not only this plugin's.
Object.assign(metricsRoutes, { [Symbol.for('skip-override')]: true });
