// What GET /workers makes of the lease bucket: live workers and lease holders by id, the holder
// whose presence expired marked as such, and the partitions nobody holds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { workersView } from '../../adapters/http/routes/workers.ts';
import type { LeaseEntry } from '../../adapters/jetstream/lease-status.ts';

const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s));
const lease = (partition: number, holder: string, s: number): LeaseEntry => ({
  partition,
  holder,
  revision: 100 + partition,
  writtenAt: at(s),
  expiresAt: at(s + 20),
});

test('each worker with its partitions in order; a holder without presence is not live', () => {
  const view = workersView(
    {
      ttlMs: 20_000,
      leases: [lease(3, 'b', 1), lease(0, 'b', 2), lease(1, 'gone', 3)],
      workers: [
        { workerId: 'b', heartbeatAt: at(4), expiresAt: at(24) },
        { workerId: 'a', heartbeatAt: at(5), expiresAt: at(25) },
      ],
    },
    5,
  );
  assert.equal(view, {
    data: [
      { worker_id: 'a', live: true, heartbeat_at: at(5).toISOString(), partitions: [] },
      {
        worker_id: 'b',
        live: true,
        heartbeat_at: at(4).toISOString(),
        partitions: [
          { partition: 0, lease_expires_at: at(22).toISOString(), revision: 100 },
          { partition: 3, lease_expires_at: at(21).toISOString(), revision: 103 },
        ],
      },
      {
        worker_id: 'gone',
        live: false,
        heartbeat_at: null,
        partitions: [{ partition: 1, lease_expires_at: at(23).toISOString(), revision: 101 }],
      },
    ],
    partitions: 5,
    unowned: [2, 4],
    lease_ttl_ms: 20_000,
  });
});

test('no bucket yet: no workers, every partition unowned, no TTL', () => {
  assert.equal(workersView({ ttlMs: undefined, leases: [], workers: [] }, 3), {
    data: [],
    partitions: 3,
    unowned: [0, 1, 2],
    lease_ttl_ms: null,
  });
});

test.run();
