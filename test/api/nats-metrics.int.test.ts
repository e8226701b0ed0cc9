// Every process's /metrics shows the traffic of its NATS connection, so that the messages a change
// costs can be read off a running deployment. Here the API's, which adds to what it has sent and
// received as it asks JetStream for the streams' state (`GET /status`).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Rtws } from '../../deploy/rtws.ts';
import {
  authHeaders,
  startTestRtws,
  testEnvironment,
  type TestEnvironment,
} from '../harness/rtws.ts';

const test = suite<{ t?: TestEnvironment; rtws?: Rtws }>('NATS traffic in /metrics');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.rtws = await startTestRtws(ctx.t, { RTWS_ROLES: 'api,publisher' });
});
test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.t?.cleanup();
});

async function traffic(rtws: Rtws): Promise<Record<string, number>> {
  const res = await fetch(`${rtws.url}/metrics`, { headers: authHeaders() });
  assert.is(res.status, 200);
  const text = await res.text();
  assert.match(text, /^# TYPE rtws_nats_messages_total counter$/m);
  const figures: Record<string, number> = {};
  for (const metric of ['rtws_nats_messages_total', 'rtws_nats_bytes_total'])
    for (const direction of ['sent', 'received']) {
      const line = new RegExp(`^${metric}\\{direction="${direction}"\\} (\\d+)$`, 'm').exec(text);
      assert.ok(line, `${metric} ${direction} is missing:\n${text}`);
      figures[`${metric} ${direction}`] = Number(line[1]);
    }
  return figures;
}

test("the API's counts grow with what its connection sends and receives", async (ctx) => {
  const before = await traffic(ctx.rtws!);
  for (const [name, value] of Object.entries(before)) assert.ok(value > 0, `${name}: ${value}`);
  for (let i = 0; i < 3; i++) {
    const status = await fetch(`${ctx.rtws!.url}/status`, { headers: authHeaders() });
    assert.is(status.status, 200);
  }
  const after = await traffic(ctx.rtws!);
  // Each stream's state is a request and its reply: at least one of each per stream, per call.
  for (const name of Object.keys(before))
    assert.ok(after[name]! >= before[name]! + 3, `${name}: ${before[name]} -> ${after[name]}`);
});

test.run();
