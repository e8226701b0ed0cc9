// Where catch-up resumes: per source, the `created` second of the newest event it stored.
import type { Sql } from './connect.ts';

export async function readWatermark(sql: Sql, source: string): Promise<number | undefined> {
  const [row] = await sql<{ watermark: string }[]>`
    SELECT watermark FROM catchup_watermarks WHERE source = ${source}`;
  return row ? Number(row.watermark) : undefined;
}

/** Moves the watermark forward only: a slower, concurrent catch-up never takes it back. */
export async function advanceWatermark(sql: Sql, source: string, second: number): Promise<void> {
  await sql`
    INSERT INTO catchup_watermarks (source, watermark) VALUES (${source}, ${second})
    ON CONFLICT (source) DO UPDATE
      SET watermark = GREATEST(catchup_watermarks.watermark, EXCLUDED.watermark), updated_at = now()`;
}
