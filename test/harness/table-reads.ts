// What Postgres's own statistics say a table has been read by: sequential scans, the rows they
// read, and the rows fetched through its indexes. Tests hold a query to an index with them. The
// counts are kept per session until the session reports them, at the end of a transaction at most
// once a second, or when it ends: `sql` should be a pool of one connection, on which the queries
// counted ran, or the sessions that ran them should have ended.
import type { Sql } from '../../adapters/postgres/connect.ts';

export interface TableReads {
  readonly seqScans: number;
  readonly seqRows: number;
  readonly indexRows: number;
}

export async function tableReads(sql: Sql, table: string): Promise<TableReads> {
  await sql`SELECT pg_stat_force_next_flush()`;
  // A statement of its own: the flush happens once the one before has ended.
  await sql`SELECT 1`;
  const [row] = await sql<{ seq_scans: number; seq_rows: number; index_rows: number }[]>`
    SELECT seq_scan::int AS seq_scans, seq_tup_read::int AS seq_rows,
           coalesce(idx_tup_fetch, 0)::int AS index_rows
    FROM pg_stat_user_tables WHERE relid = ${table}::regclass`;
  if (!row) throw new Error(`no statistics for table ${table}`);
  return { seqScans: row.seq_scans, seqRows: row.seq_rows, indexRows: row.index_rows };
}

/** How much `work` read of the table, by each way. */
export async function readsDuring(
  sql: Sql,
  table: string,
  work: () => Promise<unknown>,
): Promise<TableReads> {
  const before = await tableReads(sql, table);
  await work();
  const after = await tableReads(sql, table);
  return {
    seqScans: after.seqScans - before.seqScans,
    seqRows: after.seqRows - before.seqRows,
    indexRows: after.indexRows - before.indexRows,
  };
}
