import type { Sql } from '../connect.ts';

/** Outbox rows not yet published. */
export async function outboxDepth(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
  return row?.n ?? 0;
}

/** Rows not yet published, and the age in seconds of the oldest (0 when there is none). */
export async function outboxBacklog(sql: Sql): Promise<{ depth: number; oldestAgeS: number }> {
  const [row] = await sql<{ n: number; age: number | null }[]>`
    SELECT count(*)::int AS n,
           extract(epoch FROM now() - min(occurred_at))::float8 AS age
    FROM outbox`;
  return { depth: row?.n ?? 0, oldestAgeS: Math.max(0, Math.round(row?.age ?? 0)) };
}
