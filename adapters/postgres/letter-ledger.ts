// The letters the DLQ stored, remembered past its dedupe window (sql/034_letter_ledger.sql).
import type { LetterLedger } from '../../core/worker-ports.ts';
import type { Sql } from './connect.ts';

/** How often the ledger forgets letters older than the retention, at most. */
const PRUNE_EVERY_MS = 3_600_000;

/**
 * `retentionSeconds`: how long a letter's message may stay in its stream, and so be delivered
 * again (`RTWS_STREAM_MAX_AGE_S`; 0 keeps every letter). Older letters are pruned as a letter is
 * recorded, at most every `pruneEveryMs`.
 */
export function postgresLetterLedger(
  sql: Sql,
  retentionSeconds: number,
  { pruneEveryMs = PRUNE_EVERY_MS } = {},
): LetterLedger {
  let prunedAt = 0;
  return {
    async has(id, subject) {
      const rows = await sql`SELECT 1 FROM letter_ledger WHERE id = ${id} AND subject = ${subject}`;
      return rows.length > 0;
    },
    async record(id, subject) {
      // A row with the same id about another subject is a sequence of a stream since created anew.
      await sql`
        INSERT INTO letter_ledger (id, subject) VALUES (${id}, ${subject})
        ON CONFLICT (id) DO UPDATE SET subject = EXCLUDED.subject, recorded_at = now()`;
      if (retentionSeconds > 0 && Date.now() - prunedAt >= pruneEveryMs) {
        await sql`
          DELETE FROM letter_ledger
          WHERE recorded_at < now() - make_interval(secs => ${retentionSeconds})`;
        prunedAt = Date.now();
      }
    },
  };
}
