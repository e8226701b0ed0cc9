// A process without the api role answers /healthz and /readyz, with no token, and nothing else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildProbeServer } from '../../adapters/http/server.ts';
import type { Readiness } from '../../adapters/http/routes/health.ts';
import { workerReadiness } from '../../deploy/wiring/api/readiness.ts';
import type { WorkerStats } from '../../deploy/wiring/worker/start-worker.ts';

async function probeServer(readiness: Readiness) {
  return buildProbeServer({ logLevel: 'silent', readiness: async () => readiness });
}

const worker = { worker_id: 'worker-1', partitions_held: [0, 3], partitions_taking_back: [] };

test('a ready worker says so, with its partitions, and needs no token', async () => {
  const app = await probeServer({ postgres: true, nats: true, migrations: true, worker });
  try {
    const live = await app.inject({ method: 'GET', url: '/healthz' });
    assert.is(live.statusCode, 200);
    assert.equal(live.json(), { status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.is(ready.statusCode, 200);
    assert.equal(ready.json(), {
      status: 'ready',
      checks: { postgres: true, nats: true, migrations: true },
      worker,
    });
  } finally {
    await app.close();
  }
});

test('a worker whose lease round is stuck says what holds it; it stays ready', async () => {
  const stuck = {
    ...worker,
    lease_round_stuck: { running_ms: 31_000, waiting_for: ['partition 3 to stop (lost)'] },
  };
  const app = await probeServer({ postgres: true, nats: true, migrations: true, worker: stuck });
  try {
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.is(ready.statusCode, 200);
    assert.equal(ready.json<{ worker: unknown }>().worker, stuck);
  } finally {
    await app.close();
  }
});

test("a worker's stats become its readiness: a stuck round only while there is one", () => {
  const stats: WorkerStats = {
    workerId: 'worker-1',
    ownedPartitions: [0, 3],
    reclaimingPartitions: [],
    leaseRoundStuck: undefined,
    factsConsumed: 0,
    activeActors: 0,
    cachedActors: 0,
    unsavedSteps: 0,
    deadLettered: 0,
    callsInFlight: 0,
    outcomesRecorded: 0,
    outcomeRecordFailures: 0,
    intentsWaiting: {},
  };
  assert.equal(workerReadiness(stats), worker);
  const stuck = { runningMs: 31_000.4, waitingFor: ['partition 3 to stop (lost)'] };
  assert.equal(workerReadiness({ ...stats, leaseRoundStuck: stuck }), {
    ...worker,
    lease_round_stuck: { running_ms: 31_000, waiting_for: ['partition 3 to stop (lost)'] },
  });
});

test('a worker that has lost NATS is alive but not ready', async () => {
  const app = await probeServer({ postgres: true, nats: false, migrations: true, worker });
  try {
    assert.is((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.is(ready.statusCode, 503);
    assert.is(ready.json<{ status: string }>().status, 'not ready');
  } finally {
    await app.close();
  }
});

test('the probe server serves none of the API', async () => {
  const app = await probeServer({ postgres: true, nats: true, migrations: true });
  try {
    for (const url of ['/customers', '/metrics', '/sync', '/dlq']) {
      const res = await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer x' } });
      assert.is(res.statusCode, 404, url);
      assert.is(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    }
    const webhook = await app.inject({ method: 'POST', url: '/webhooks/stripe', payload: '{}' });
    assert.is(webhook.statusCode, 404);
  } finally {
    await app.close();
  }
});

test.run();
