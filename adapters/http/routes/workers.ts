// GET /workers: the workers the lease bucket shows, each with the partitions it holds and until when,
// and the partitions nobody holds, so that an operator sees a gap. Read from NATS on every request
// (lease-status.ts explains how expiries are computed); NATS being unavailable is a 503.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Nullable } from '../../../core/nullable.ts';
import type { LeaseStatus } from '../../jetstream/lease-status.ts';
import { ProblemResponses } from './common.ts';

export interface WorkerRoutesOptions {
  /** RTWS_PARTITIONS: every partition from 0 up to this that nobody holds is listed as unowned. */
  readonly partitions: number;
  readonly status: () => Promise<LeaseStatus>;
}

const HeldPartition = Type.Object({
  partition: Type.Integer(),
  /** Its last renewal's stored time plus the lease TTL, on the NATS server's clock. */
  lease_expires_at: Type.String(),
  revision: Type.Integer(),
});

const WorkerView = Type.Object({
  worker_id: Type.String(),
  /** False for a holder whose presence has expired: it died or left, and its leases run out. */
  live: Type.Boolean(),
  heartbeat_at: Nullable(Type.String()),
  partitions: Type.Array(HeldPartition),
});

const WorkersView = Type.Object({
  data: Type.Array(WorkerView),
  partitions: Type.Integer(),
  unowned: Type.Array(Type.Integer()),
  lease_ttl_ms: Nullable(Type.Integer()),
});

/** Live workers and every lease holder, by id; their partitions and the unowned ones in order. */
export function workersView(status: LeaseStatus, partitions: number): Static<typeof WorkersView> {
  const byId = new Map<string, Static<typeof WorkerView>>();
  const worker = (id: string) => {
    let w = byId.get(id);
    if (!w) byId.set(id, (w = { worker_id: id, live: false, heartbeat_at: null, partitions: [] }));
    return w;
  };
  for (const p of status.workers)
    Object.assign(worker(p.workerId), { live: true, heartbeat_at: p.heartbeatAt.toISOString() });
  const held = new Set<number>();
  for (const l of [...status.leases].sort((a, b) => a.partition - b.partition)) {
    held.add(l.partition);
    worker(l.holder).partitions.push({
      partition: l.partition,
      lease_expires_at: l.expiresAt.toISOString(),
      revision: l.revision,
    });
  }
  return {
    data: [...byId.values()].sort((a, b) => (a.worker_id < b.worker_id ? -1 : 1)),
    partitions,
    unowned: Array.from({ length: partitions }, (_, p) => p).filter((p) => !held.has(p)),
    lease_ttl_ms: status.ttlMs ?? null,
  };
}

export const workerRoutes: FastifyPluginAsyncTypebox<WorkerRoutesOptions> = async (
  app,
  { partitions, status },
) => {
  app.get(
    '/workers',
    {
      schema: {
        tags: ['operations'],
        summary: 'Workers and the partitions each holds',
        response: { 200: WorkersView, ...ProblemResponses },
      },
    },
    async () => workersView(await status(), partitions),
  );
};
