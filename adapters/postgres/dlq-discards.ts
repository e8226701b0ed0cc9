// Discarded dead letters: the record an operator's discard leaves once the letter is gone.
import type { Tx } from './connect.ts';

export interface DlqDiscard {
  readonly id: number;
  readonly letterId: number;
  readonly source: string;
  readonly subject: string;
  readonly letterReason: string;
  readonly reason: string;
  readonly discardedBy: string;
  readonly discardedAt: Date;
}

export async function recordDiscard(
  sql: Tx,
  d: Omit<DlqDiscard, 'id' | 'discardedAt'>,
): Promise<DlqDiscard> {
  const [row] = await sql<{ id: string; discarded_at: Date }[]>`
    INSERT INTO dlq_discards (letter_id, source, subject, letter_reason, reason, discarded_by)
    VALUES (${d.letterId}, ${d.source}, ${d.subject}, ${d.letterReason}, ${d.reason}, ${d.discardedBy})
    RETURNING id, discarded_at`;
  return { ...d, id: Number(row!.id), discardedAt: row!.discarded_at };
}
