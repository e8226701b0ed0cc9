// Import progress, saved after each page so that an import resumes where it stopped.
import type { Sql } from './connect.ts';

export interface BackfillRow {
  readonly id: number;
  readonly cursor: string | null;
  readonly scanned: number;
  readonly counts: Record<string, number>;
}

/** The running import of this source, or a new one. */
export async function runningBackfill(sql: Sql, source: string): Promise<BackfillRow> {
  const [row] = await sql<(Omit<BackfillRow, 'id'> & { id: string })[]>`
    WITH created AS (
      INSERT INTO backfills (source, state) VALUES (${source}, 'running')
      ON CONFLICT (source) WHERE state = 'running' DO NOTHING
      RETURNING id, cursor, scanned, counts)
    SELECT * FROM created
    UNION ALL
    SELECT id, cursor, scanned, counts FROM backfills WHERE source = ${source} AND state = 'running'
    LIMIT 1`;
  return { ...row!, id: Number(row!.id) };
}

export async function savePage(sql: Sql, b: BackfillRow): Promise<void> {
  await sql`
    UPDATE backfills SET cursor = ${b.cursor}, scanned = ${b.scanned}, counts = ${sql.json(b.counts)}
    WHERE id = ${b.id}`;
}

export async function finishBackfill(
  sql: Sql,
  id: number,
  state: 'done' | 'failed',
  error?: string,
): Promise<void> {
  await sql`
    UPDATE backfills SET state = ${state}, error = ${error ?? null}, ended_at = now() WHERE id = ${id}`;
}
