// The application as a plugin: routes and their services. server.ts owns listening and closing.
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { Sql } from '../postgres/connect.ts';
import type { ApiToken } from '../../core/api-tokens.ts';
import type { Logger } from '../../core/ports.ts';
import { tokenAuth } from './auth.ts';
import { validatorCompiler } from './validation.ts';
import { rateLimits, type RateLimits } from './rate-limits.ts';
import { customerRoutes } from './routes/customers.ts';
import { invoiceRoutes } from './routes/invoices.ts';
import { healthRoutes, type Readiness } from './routes/health.ts';
import { metricsRoutes, type MetricSources } from './routes/metrics.ts';
import { syncRoutes, type SyncRoutesOptions } from './routes/sync.ts';
import { dlqRoutes, type DlqRoutesOptions } from './routes/dlq.ts';
import { resyncRoutes, type ResyncRoutesOptions } from './routes/resync.ts';
import { backfillRoutes, type BackfillRoutesOptions } from './routes/backfills.ts';
import {
  reconciliationRoutes,
  type ReconciliationRoutesOptions,
} from './routes/reconciliations.ts';
import { stripeWebhookRoutes, type StripeWebhookOptions } from './routes/webhooks.ts';
import { workerRoutes, type WorkerRoutesOptions } from './routes/workers.ts';
import { targetRoutes } from './routes/targets.ts';
import { erasureRoutes, type ErasureRoutesOptions } from './routes/erasures.ts';
import { statusRoutes, type StatusRoutesOptions } from './routes/status.ts';
import { timelineRoutes, type TimelineRoutesOptions } from './routes/timeline.ts';

export interface AppOptions {
  sql: Sql;
  /** The tokens the API takes, each with its scope. */
  apiTokens: readonly ApiToken[];
  /** Requests a minute per token, and per address for the webhooks; absent: no limits. */
  rateLimits?: RateLimits;
  /** Where each write is logged with its token's name (default: the request's logger). */
  log?: Logger;
  readiness: () => Promise<Readiness>;
  metrics?: MetricSources;
  /** The actors' view of each target; without it, /sync reports customers as not yet observed. */
  syncTargets?: SyncRoutesOptions['targets'];
  dlq?: DlqRoutesOptions['dlq'];
  /** Absent: POST /customers/:id/resync is not served. */
  resync?: ResyncRoutesOptions;
  /** Absent: /backfills is not served. */
  backfills?: Omit<BackfillRoutesOptions, 'sql'>;
  /** Absent: /reconciliations is not served. */
  reconciliations?: Omit<ReconciliationRoutesOptions, 'sql'>;
  /** The targets this deployment syncs to; absent: /targets is not served. */
  configuredTargets?: readonly string[];
  /** Erasures (RTWS_ERASE_REMOTE); absent: POST /customers/:id/erase is not served. */
  erasure?: Omit<ErasureRoutesOptions, 'sql'>;
  /** The lease bucket's view of the workers; absent: /workers is not served. */
  workers?: WorkerRoutesOptions;
  /** What GET /status reports besides its counters; absent: /status is not served. */
  status?: StatusRoutesOptions['report'];
  /** A customer's timeline from the streams; absent: /customers/:id/timeline is not served. */
  timeline?: TimelineRoutesOptions['timeline'];
  /** Absent when no webhook secret is configured: the route is then not served. */
  stripeWebhooks?: Omit<StripeWebhookOptions, 'registry'>;
}

export const app: FastifyPluginAsync<AppOptions> = async (fastify, options) => {
  // The API's own validation (strict bodies, storable text, its keywords), whatever the host.
  fastify.setValidatorCompiler(validatorCompiler);
  tokenAuth(fastify, options.apiTokens, options.log?.child({ component: 'api' }));
  if (options.rateLimits) await rateLimits(fastify, options.rateLimits);
  let registry: Registry | undefined;
  await fastify.register(metricsRoutes, {
    ...options.metrics,
    register: (r) => {
      registry = r;
      options.metrics?.register?.(r);
    },
  });
  await fastify.register(healthRoutes, { readiness: options.readiness });
  await fastify.register(customerRoutes, { sql: options.sql });
  await fastify.register(invoiceRoutes, { sql: options.sql });
  if (options.dlq) await fastify.register(dlqRoutes, { dlq: options.dlq, sql: options.sql });
  if (options.resync) await fastify.register(resyncRoutes, options.resync);
  if (options.backfills)
    await fastify.register(backfillRoutes, { ...options.backfills, sql: options.sql });
  if (options.reconciliations)
    await fastify.register(reconciliationRoutes, { ...options.reconciliations, sql: options.sql });
  if (options.workers) await fastify.register(workerRoutes, options.workers);
  if (options.erasure)
    await fastify.register(erasureRoutes, { ...options.erasure, sql: options.sql });
  if (options.configuredTargets)
    await fastify.register(targetRoutes, { sql: options.sql, targets: options.configuredTargets });
  if (options.status) await fastify.register(statusRoutes, { report: options.status, registry });
  if (options.timeline) await fastify.register(timelineRoutes, { timeline: options.timeline });
  await fastify.register(syncRoutes, {
    sql: options.sql,
    targets: options.syncTargets ?? (async () => undefined),
  });
  if (options.stripeWebhooks) {
    // Encapsulated: its raw-body parser applies to the webhook route only.
    await fastify.register(stripeWebhookRoutes, {
      ...options.stripeWebhooks,
      ...(registry ? { registry } : {}),
    });
  }
};
