// A process without the api role (a worker, a publisher) still answers its orchestrator: /healthz
// and /readyz on HOST:PORT, with the same checks as the API's, and its own /metrics behind the API
// token. A container health check, a Kubernetes probe and a PodDisruptionBudget all need an answer
// from every process, and Prometheus a scrape of every worker.
import { apiTokensOf } from '../../../core/api-tokens.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../../../core/config.ts';
import { buildProbeServer } from '../../../adapters/http/server.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import type { Migration } from '../../../adapters/postgres/migrate.ts';
import type { OutboxPublisher } from '../../../adapters/postgres/outbox/publisher.ts';
import type { WorkerMetrics } from '../worker/metrics.ts';
import type { WorkerRole } from '../worker/worker-role.ts';
import { readiness, workerDetails } from './readiness.ts';
import type { Api } from './start-api.ts';

export interface ProbeDeps {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly migrations: Migration[];
  readonly worker: WorkerRole | undefined;
  readonly publisher: OutboxPublisher | undefined;
  readonly metrics: WorkerMetrics;
}

export async function startProbes(config: Config, d: ProbeDeps): Promise<Api> {
  const { worker } = d;
  // Only configured tokens: a generated one is shown by the API's banner alone.
  const configured = apiTokensOf(config.apiTokens, config.apiToken);
  const server = await buildProbeServer({
    logLevel: config.logLevel,
    readiness: readiness({
      sql: d.sql,
      nats: d.nats,
      migrations: d.migrations,
      ...workerDetails(worker),
    }),
    // Scraped per process: a worker's calls and outcomes, a publisher's leadership. The API's
    // /metrics adds what is the deployment's (outbox and DLQ depth, backfills).
    ...(configured.length > 0
      ? {
          metrics: {
            apiTokens: configured,
            sources: {
              publisher: () => d.publisher?.stats,
              nats: () => d.nats.stats(),
              register: (registry) => d.metrics.register(registry),
            },
          },
        }
      : {}),
  });
  const url = await server.listen({ host: config.host, port: config.port });
  return { url, close: () => server.close() };
}
