// A worker-only process listens on HOST:PORT for its probes and its metrics: /readyz checks
// Postgres, NATS and the migrations and names the partitions it holds, /metrics (behind the API
// token) gives the worker's own figures, and the API is not there.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Rtws } from '../../deploy/rtws.ts';
import {
  authHeaders,
  startTestRtws,
  testEnvironment,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';

const test = suite<{ t?: TestEnvironment; rtws?: Rtws }>('worker probes');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.rtws = await startTestRtws(ctx.t, { RTWS_ROLES: 'worker', RTWS_WORKER_ID: 'probed-worker' });
});
test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.t?.cleanup();
});

interface ReadyBody {
  status: string;
  checks: Record<string, boolean>;
  worker?: { worker_id: string; partitions_held: number[] };
}

test('the worker has no API but answers /healthz and /readyz', async (ctx) => {
  const rtws = ctx.rtws!;
  assert.is(rtws.url, undefined);
  assert.ok(rtws.probeUrl, 'a worker-only process listens for its probes');
  const live = await fetch(`${rtws.probeUrl}/healthz`);
  assert.is(live.status, 200);
  // Alone on its namespace, the worker takes every partition within a lease period.
  const ready = await eventually(
    async () => (await fetch(`${rtws.probeUrl}/readyz`)).json() as Promise<ReadyBody>,
    (body) => (body.worker?.partitions_held.length ?? 0) === 16,
    30_000,
    200,
  );
  assert.equal(ready.checks, { postgres: true, nats: true, migrations: true });
  assert.is(ready.status, 'ready');
  assert.is(ready.worker?.worker_id, 'probed-worker');
  assert.is(ready.worker?.partitions_held.length, 16);
  const api = await fetch(`${rtws.probeUrl}/customers`, { headers: authHeaders() });
  assert.is(api.status, 404);
});

test('the worker serves its own /metrics, behind the API token', async (ctx) => {
  const url = `${ctx.rtws!.probeUrl}/metrics`;
  assert.is((await fetch(url)).status, 401, 'no token, no metrics');
  assert.is((await fetch(url, { headers: authHeaders('wrong-token') })).status, 401);
  const res = await fetch(url, { headers: authHeaders() });
  assert.is(res.status, 200);
  const text = await res.text();
  assert.match(text, /^# TYPE rtws_intents_waiting gauge$/m, "the worker's figures");
  assert.match(text, /^rtws_process_process_cpu_seconds_total /m, "the process's");
  // Its NATS traffic so far: it has at least created its consumers and taken its leases.
  const traffic = (body: string, metric: string, direction: string) =>
    Number(new RegExp(`^${metric}\\{direction="${direction}"\\} (\\d+)$`, 'm').exec(body)?.[1]);
  for (const metric of ['rtws_nats_messages_total', 'rtws_nats_bytes_total'])
    for (const direction of ['sent', 'received'])
      assert.ok(traffic(text, metric, direction) > 0, `${metric} ${direction}: ${text}`);
  assert.is((await fetch(`${ctx.rtws!.probeUrl}/readyz`)).status, 200, 'the probes need no token');
});

test('closing the process closes its probe server', async (ctx) => {
  const url = ctx.rtws!.probeUrl!;
  await ctx.rtws!.close();
  ctx.rtws = undefined;
  const error = await fetch(`${url}/healthz`).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(error instanceof Error, 'nothing listens any more');
});

test.run();
