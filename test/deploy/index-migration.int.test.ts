// The migration that indexes `lower(email)` on a catalogue in use (sql/030): it waits at most 10 s
// for the write transactions open on `customers`, then fails naming itself, and the next try
// succeeds once they are gone; an index an operator built beforehand is taken as it is, unless
// its build failed (invalid), which the migration refuses, naming the index.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { loadMigrations, migrate, type Migration } from '../../adapters/postgres/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../harness/services.ts';

const INDEX_MIGRATION = 30;

interface Ctx {
  db: TestDatabase;
  sql: Sql;
  all: Migration[];
}
const test = suite<Ctx>('index migration');

test.before.each(async (ctx) => {
  ctx.db = await createTestDatabase();
  ctx.sql = connectPostgres(ctx.db.url, { max: 4 });
  ctx.all = await loadMigrations();
  await migrate(
    ctx.sql,
    ctx.all.filter((m) => m.version < INDEX_MIGRATION),
  );
  await ctx.sql`INSERT INTO customers (name, email) VALUES ('Ada', 'Ada@Example.com')`;
});
test.after.each(async (ctx) => {
  await ctx.sql?.end();
  await ctx.db?.drop();
});

async function indexValid(sql: Sql): Promise<boolean | undefined> {
  const [row] = await sql<{ valid: boolean }[]>`
    SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relname = 'customers_email_lower'`;
  return row?.valid;
}

test('an open write transaction makes it fail after its lock timeout, naming it', async (ctx) => {
  const holder = await ctx.sql.reserve();
  try {
    await holder`BEGIN`;
    await holder`UPDATE customers SET name = 'Ada L' WHERE email = 'Ada@Example.com'`;
    const startedAt = Date.now();
    const err = await migrate(ctx.sql, ctx.all).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const waited = Date.now() - startedAt;
    assert.ok(err, 'the migration did not wait for the open transaction');
    assert.match(err.message, /migration 030_email_lookups\.sql failed: .*lock timeout/);
    assert.ok(waited >= 9_000 && waited < 30_000, `gave up after ${waited} ms`);
    assert.is(await indexValid(ctx.sql), undefined, 'nothing of it stays');
  } finally {
    await holder`ROLLBACK`.catch(() => {});
    holder.release();
  }
  assert.ok((await migrate(ctx.sql, ctx.all)).includes('030_email_lookups.sql'));
  assert.is(await indexValid(ctx.sql), true);
});

test('an index built beforehand is taken as it is', async (ctx) => {
  await ctx.sql`CREATE INDEX CONCURRENTLY customers_email_lower ON customers (lower(email))`;
  assert.ok((await migrate(ctx.sql, ctx.all)).includes('030_email_lookups.sql'));
  assert.is(await indexValid(ctx.sql), true);
});

test('an invalid index, left by a failed concurrent build, is refused by name', async (ctx) => {
  await ctx.sql`CREATE INDEX customers_email_lower ON customers (lower(email))`;
  // What a concurrent build that failed leaves behind.
  await ctx.sql`
    UPDATE pg_index SET indisvalid = false
    WHERE indexrelid = 'customers_email_lower'::regclass`;
  const err = await migrate(ctx.sql, ctx.all).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  assert.ok(err, 'the invalid index was taken');
  assert.match(
    err.message,
    /030_email_lookups\.sql failed: index customers_email_lower is invalid/,
  );
});

test.run();
