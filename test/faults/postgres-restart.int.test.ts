// Restart Postgres (a private cluster, stopped immediately, so it runs crash recovery) in the middle
// of a burst of API writes: the API answers 503 while it is down and recovers by itself, the
// publisher re-elects itself, and every committed change reaches the stream once, in order.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  crashAndRestart,
  onPrivatePostgres,
  type PrivateEnvironment,
} from '../harness/private-environment.ts';
import { authHeaders, startTestRtws } from '../harness/rtws.ts';
import { assertStreamMatchesDatabase } from './verify.ts';
import { sleep } from './writers.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { testSize } from '../harness/services.ts';

const ROUNDS = testSize('RTWS_FAULT_ROUNDS', 2);

const test = suite<{ env: PrivateEnvironment; rtws: Rtws }>('Postgres restart');

test.before(async (ctx) => {
  ctx.env = await onPrivatePostgres();
  ctx.rtws = await startTestRtws(ctx.env.t, { RTWS_ROLES: 'api,publisher' });
});

test.after(async (ctx) => {
  await ctx.rtws?.close();
  await ctx.env?.close();
});

interface Tally {
  ok: number;
  unavailable: number;
  other: number[];
}

/** One API writer: creates with an Idempotency-Key (so a retry after a lost answer creates once), then patches. */
async function writer(url: string, w: number, running: () => boolean, tally: Tally): Promise<void> {
  let id: string | undefined;
  for (let n = 0; running(); n++) {
    const [method, path, body, extra] = id
      ? (['PATCH', `/customers/${id}`, { metadata: { n: String(n) } }, {}] as const)
      : ([
          'POST',
          '/customers',
          { name: `Writer ${w}` },
          { 'idempotency-key': `writer-${w}` },
        ] as const);
    try {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { ...authHeaders(), ...extra },
        body: JSON.stringify(body),
      });
      if (res.status === 503) tally.unavailable++;
      else if (res.ok) {
        tally.ok++;
        if (!id) id = ((await res.json()) as { id: string }).id;
      } else tally.other.push(res.status);
      if (!res.bodyUsed) await res.arrayBuffer();
    } catch {
      tally.unavailable++;
    }
    await sleep(res503Pause(tally));
  }
}
const res503Pause = (t: Tally) => (t.unavailable > 0 ? 20 : 5);

test('Postgres crashes and returns mid-burst: 503s meanwhile, then every change once, in order', async (ctx) => {
  const { server, t, o } = ctx.env;
  const url = ctx.rtws.url!;
  let running = true;
  const tally: Tally = { ok: 0, unavailable: 0, other: [] };
  const writers = Array.from({ length: 6 }, (_, w) => writer(url, w, () => running, tally));
  await crashAndRestart(server, ROUNDS);
  await sleep(1_500);
  running = false;
  await Promise.all(writers);

  assert.equal(tally.other, [], 'an outage never shows as a misleading 4xx or a 500');
  assert.ok(tally.unavailable > 0, 'the outage was seen as 503');
  const after = await fetch(`${url}/customers`, {
    method: 'POST',
    headers: authHeaders(),
    body: JSON.stringify({ name: 'After' }),
  });
  assert.is(after.status, 201, 'the API recovered');
  const ready = await fetch(`${url}/readyz`);
  assert.is(ready.status, 200);
  const n = (await o.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM customers`)[0]!.n;
  assert.is(n, 7, 'one customer per writer (idempotent creates), plus the last one');
  await assertStreamMatchesDatabase(o.sql, o.nats, t.names.streams.changes);
});

test.run();
