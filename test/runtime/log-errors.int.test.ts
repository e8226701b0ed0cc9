// An error's log line keeps what failed and withholds the row Postgres quotes: a unique violation
// from a real Postgres, logged by pino with rtws's `err` serializer, alone and inside an
// AggregateError, names its code, table and constraint, and not the value that clashed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import postgres from 'postgres';
import { loggableErr } from '../../adapters/postgres/loggable-error.ts';
import { createTestDatabase, type TestDatabase } from '../harness/services.ts';

const test = suite<{ db?: TestDatabase; clash?: Error }>('error log lines');

const EMAIL = 'quillon.private@example.com';

test.before(async (ctx) => {
  ctx.db = await createTestDatabase();
  const sql = postgres(ctx.db.url, { max: 1, onnotice: () => {} });
  try {
    await sql`CREATE TABLE people (email text CONSTRAINT people_email UNIQUE)`;
    await sql`INSERT INTO people VALUES (${EMAIL})`;
    ctx.clash = await sql`INSERT INTO people VALUES (${EMAIL})`.then(
      () => undefined,
      (err: Error) => err,
    );
  } finally {
    await sql.end();
  }
});
test.after(async (ctx) => {
  await ctx.db?.drop();
});

/** The lines a logger with rtws's serializer writes for `obj`, parsed. */
function logged(obj: object): Record<string, unknown> {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  pino({ serializers: { err: loggableErr } }, out).error(obj, 'failed');
  assert.is(lines.length, 1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

test('Postgres quotes the row in its detail, unserialised', (ctx) => {
  const clash = ctx.clash as Error & { code?: string; detail?: string };
  assert.ok(clash, 'the second insert failed');
  assert.is(clash.code, '23505');
  assert.match(String(clash.detail), EMAIL);
});

test('the line names the code, table and constraint, and not the value', (ctx) => {
  const line = logged({ err: ctx.clash });
  const err = line.err as Record<string, unknown>;
  assert.is(err.code, '23505');
  assert.is(err.table_name, 'people');
  assert.is(err.constraint_name, 'people_email');
  assert.match(String(err.message), 'people_email');
  assert.not.match(JSON.stringify(line), EMAIL);
});

test('inside an AggregateError too', (ctx) => {
  const line = logged({ err: new AggregateError([ctx.clash], 'both failed') });
  const [inner] = (line.err as { aggregateErrors: Record<string, unknown>[] }).aggregateErrors;
  assert.is(inner!.code, '23505');
  assert.not.match(JSON.stringify(line), EMAIL);
});

test('other errors are as pino writes them', () => {
  const line = logged({ err: Object.assign(new Error('boom'), { detail: 'kept' }) });
  assert.is((line.err as { detail: string }).detail, 'kept');
  assert.is((line.err as { message: string }).message, 'boom');
});

test.run();
