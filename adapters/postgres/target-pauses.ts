// Targets an operator paused: every worker reads them, and holds their intents back meanwhile.
import type { Sql } from './connect.ts';

export interface TargetPause {
  readonly target: string;
  readonly pausedAt: Date;
  readonly pausedBy: string;
  readonly reason: string | null;
}

/** Pauses a target; one paused already stays as it was paused. Returns the pause in force. */
export async function pauseTarget(
  sql: Sql,
  p: { target: string; by: string; reason: string | null },
): Promise<TargetPause> {
  await sql`
    INSERT INTO target_pauses (target, paused_by, reason) VALUES (${p.target}, ${p.by}, ${p.reason})
    ON CONFLICT (target) DO NOTHING`;
  const [pause] = await listPauses(sql, p.target);
  return pause!;
}

/** Resumes a target; false when it was not paused. */
export async function resumeTarget(sql: Sql, target: string): Promise<boolean> {
  const gone = await sql`DELETE FROM target_pauses WHERE target = ${target} RETURNING target`;
  return gone.length > 0;
}

/** The pauses in force, or the one of `target`. */
export async function listPauses(sql: Sql, target?: string): Promise<TargetPause[]> {
  const rows = await sql<
    { target: string; paused_at: Date; paused_by: string; reason: string | null }[]
  >`
    SELECT target, paused_at, paused_by, reason FROM target_pauses
    WHERE ${target ?? null}::text IS NULL OR target = ${target ?? null}::text
    ORDER BY target`;
  return rows.map((r) => ({
    target: r.target,
    pausedAt: r.paused_at,
    pausedBy: r.paused_by,
    reason: r.reason,
  }));
}
