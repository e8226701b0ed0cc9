import type { Sql } from '../connect.ts';

/** Outbox rows not yet published. */
export async function outboxDepth(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox`;
  return row?.n ?? 0;
}
