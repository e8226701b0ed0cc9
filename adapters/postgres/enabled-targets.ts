// The targets this catalogue has been configured with, ever: a target seen for the first time is
// one whose existing customers have not reached it yet.
import type { Sql } from './connect.ts';

/** Records the targets configured now; resolves to those never configured before. */
export async function switchOn(sql: Sql, targets: readonly string[]): Promise<string[]> {
  const rows = await sql<{ target: string }[]>`
    INSERT INTO enabled_targets (target) SELECT unnest(${sql.array([...targets])}::text[])
    ON CONFLICT (target) DO NOTHING
    RETURNING target`;
  return rows.map((r) => r.target);
}
