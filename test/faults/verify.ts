import * as assert from 'uvu/assert';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sql } from '../../adapters/postgres/connect.ts';
import { eventually, readStream, versionsByCustomer, waitFor } from '../harness/stream.ts';

/**
 * Every committed version of every customer is in the stream exactly once and in order: the
 * database's final versions are the truth the stream must match.
 */
export async function assertStreamMatchesDatabase(
  sql: Sql,
  nats: NatsConnection,
  stream: string,
): Promise<number> {
  await waitFor(
    async () => (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`)[0]!.n,
    (n) => n === 0,
    60_000,
    200,
  );
  const rows = await sql<{ id: string; version: number }[]>`SELECT id, version FROM customers`;
  const expectedTotal = rows.reduce((n, r) => n + r.version, 0);
  // The catalogue's facts (captured from the outbox); workers record their outcomes beside them.
  const changes = await eventually(
    async () =>
      (await readStream(nats, stream)).filter((c) => c.message.metadata?.outbox_id !== undefined),
    (c) => c.length >= expectedTotal,
    30_000,
    200,
  );
  const byCustomer = versionsByCustomer(changes);
  for (const r of rows) {
    assert.equal(
      byCustomer.get(r.id),
      Array.from({ length: r.version }, (_, i) => i + 1),
      `customer ${r.id}`,
    );
  }
  assert.is(changes.length, expectedTotal, 'no message beyond the committed versions');
  return expectedTotal;
}
