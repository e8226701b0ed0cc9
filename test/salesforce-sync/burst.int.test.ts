// A burst of customers created, updated and partly deleted through the API ends up in Salesforce
// as exactly one Account per live customer, with the mapped fields, and none for the deleted; the
// changes go out in sObject Collections calls, far fewer calls than changes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually } from '../harness/stream.ts';
import { countByRtwsId } from '../salesforce/fixtures.ts';
import type { CustomerBody } from './api.ts';
import { accountDiff, customerBody } from './expect.ts';
import { inPool, startWorld, type World } from './world.ts';
import { testSize } from '../harness/services.ts';

/** Fits the whole loop (API → outbox → JetStream → actor → Salesforce) in about a minute here. */
const CUSTOMERS = testSize('RTWS_SYNC_CUSTOMERS', 1000);
const IN_FLIGHT = 16;

const test = suite<{ w?: World }>('Salesforce sync: a burst');

test.after(async (ctx) => {
  await ctx.w?.close();
});

test('creates, updates and deletes converge: one Account per live customer', async (ctx) => {
  const w = (ctx.w = await startWorld());
  const started = Date.now();
  const bodies = Array.from({ length: CUSTOMERS }, (_, i) => customerBody(i, 'Burst'));
  const ids = await inPool(bodies, IN_FLIGHT, (b) => w.api.create(b));
  const live = new Map<string, CustomerBody>(ids.map((id, i) => [id, bodies[i]!]));

  // Every third customer renamed and moved, every tenth deleted (some of those after the rename).
  let renamed = 0;
  await inPool(ids, IN_FLIGHT, async (id, i) => {
    if (i % 3 === 0) {
      renamed++;
      const patch = {
        name: `Renamed ${i}`,
        address: { line1: `${i} Other Rd`, city: 'Shelbyville', country: 'US' },
      };
      await w.api.patch(id, patch);
      live.set(id, { ...live.get(id)!, ...patch });
    }
    if (i % 10 === 0) {
      await w.api.remove(id);
      live.delete(id);
    }
  });
  const written = Date.now();

  const problems = await eventually(
    async () => accountDiff(w.sf, live),
    (p) => p.length === 0,
    90_000,
    500,
  );
  const converged = Date.now();
  const stats = w.sf.stats();
  if (problems.length > 0) {
    const first = problems[0]!.split(/[.:]/)[0]!;
    const sync = JSON.stringify((await w.api.sync(first)).targets?.salesforce);
    assert.equal(problems.slice(0, 10), [], `${problems.length} differences; ${first}: ${sync}`);
  }

  const total = await w.conn.query('SELECT COUNT() FROM Account');
  assert.is(total.totalSize, live.size, 'one Account per live customer, no more');
  const deleted = ids.filter((_, i) => i % 10 === 0);
  for (const id of [...deleted.slice(0, 5), ...[...live.keys()].slice(0, 5)])
    assert.is(await countByRtwsId(w.conn, id), live.has(id) ? 1 : 0, id);

  // The changes Salesforce is to see: a create each, an update per rename, a delete per deletion.
  const writes = CUSTOMERS + renamed + deleted.length;
  console.log(
    `  ${CUSTOMERS} customers (${live.size} live): API writes ${written - started} ms, ` +
      `Salesforce converged ${converged - written} ms later; ${stats.apiCalls} Salesforce API ` +
      `calls for ${writes} changed records (${(writes / stats.apiCalls).toFixed(1)} a call) ` +
      JSON.stringify(stats.callsByEndpoint),
  );
  // Unbatched, the sync made about one call per change; a Collections call carries up to 200.
  assert.ok(
    stats.apiCalls * 4 <= writes,
    `${stats.apiCalls} calls for ${writes} changes: batching should divide them`,
  );
  const collections =
    (stats.callsByEndpoint['collections.upsert'] ?? 0) +
    (stats.callsByEndpoint['collections.update'] ?? 0) +
    (stats.callsByEndpoint['collections.delete'] ?? 0);
  assert.ok(collections > 0, 'changes went out through sObject Collections');
  assert.equal(Object.keys(stats.callOptions), ['client=rtws'], 'every call tagged');
});

test.run();
