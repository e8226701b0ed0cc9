// `dlq list|show|retry|discard`: the dead letters through the API.
import type { CliApi } from './api-client.ts';
import { ApiError } from './errors.ts';
import { table, type Out } from './output.ts';

interface Entry {
  id: number;
  source: string;
  subject: string;
  reason: string;
  deliveries: number;
  dead_lettered_at: string;
}

/** Up to `limit` letters, following the cursor across pages. */
export async function dlqList(
  api: CliApi,
  out: Out,
  f: { source?: string | undefined; subject?: string | undefined; limit: number },
): Promise<number> {
  const data: Entry[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: String(Math.min(100, f.limit - data.length)) });
    if (f.source) q.set('source', f.source);
    if (f.subject) q.set('subject', f.subject);
    if (cursor) q.set('cursor', cursor);
    const page: { data: Entry[]; next_cursor: string | null } = await api.get(
      `/dlq?${q.toString()}`,
    );
    data.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor && data.length < f.limit);
  out.print({ data, more: cursor !== null }, () =>
    data.length === 0
      ? 'the DLQ holds no such letter'
      : table(
          ['id', 'source', 'subject', 'deliveries', 'dead-lettered', 'reason'],
          data.map((e) => [e.id, e.source, e.subject, e.deliveries, e.dead_lettered_at, e.reason]),
          80,
        ) + (cursor ? `\n(more: --limit ${f.limit + 100})` : ''),
  );
  return 0;
}

export async function dlqShow(api: CliApi, out: Out, id: string): Promise<number> {
  const letter = await api.get<Entry & { payload: unknown }>(`/dlq/${id}`);
  out.print(letter, () => JSON.stringify(letter, null, 2));
  return 0;
}

/** Each letter in turn; one that fails does not stop the others, and makes the exit 1. */
export async function dlqRetry(api: CliApi, out: Out, ids: readonly string[]): Promise<number> {
  const results: { id: string; redriven_to?: string; error?: string }[] = [];
  for (const id of ids) {
    try {
      const r = await api.post<{ redriven_to: string }>(`/dlq/${id}/retry`);
      results.push({ id, redriven_to: r.redriven_to });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      results.push({ id, error: err.message });
    }
  }
  out.print(results, () =>
    table(
      ['letter', 'result'],
      results.map((r) => [r.id, r.error ?? `redriven to ${r.redriven_to}`]),
      100,
    ),
  );
  return results.some((r) => r.error) ? 1 : 0;
}

export async function dlqDiscard(
  api: CliApi,
  out: Out,
  id: string,
  reason: string,
): Promise<number> {
  const r = await api.post<{ id: number; discarded_by: string }>(`/dlq/${id}/discard`, { reason });
  out.print(r, () => `letter ${r.id} discarded, recorded as by ${r.discarded_by}`);
  return 0;
}
