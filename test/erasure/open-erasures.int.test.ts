// Open erasures are read page by page, every page each round: erasures that wait (a paused
// target, an outage) never hide newer ones behind them, however many of them wait.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allOpenErasures, requestErasure } from '../../adapters/postgres/erasures.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t?: TestEnvironment; o?: Observer }>('open erasures');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});
test.after(async (ctx) => {
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

test('every open erasure is found, oldest first, past the first page', async (ctx) => {
  const sql = ctx.o!.sql;
  const asked: string[] = [];
  for (let i = 0; i < 7; i++) {
    const [row] = await sql<{ id: string }[]>`
      INSERT INTO customers (name) VALUES (${`Erased ${i}`}) RETURNING id`;
    const r = await requestErasure(sql, {
      customerId: row!.id,
      requestedBy: 'test',
      remote: false,
    });
    asked.push(r!.erasure.id);
  }
  await sql`UPDATE erasures SET finished_at = now() WHERE id = ${asked[1]!}`;
  const found: string[] = [];
  for await (const e of allOpenErasures(sql, 2)) found.push(e.id);
  assert.equal(
    found,
    asked.filter((_, i) => i !== 1),
  );
});

test.run();
