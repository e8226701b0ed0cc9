// `conflicts [--customer] [--field]`: the conflicts the merge settled, newest first.
import type { CliApi } from './api-client.ts';
import { table, type Out } from './output.ts';

interface Conflict {
  id: number;
  customer_id: string;
  field: string;
  target: string;
  winner: string;
  reason: string;
  detected_at: string;
}

export async function conflicts(
  api: CliApi,
  out: Out,
  f: { customer?: string | undefined; field?: string | undefined; limit: number },
): Promise<number> {
  const q = new URLSearchParams({ limit: String(f.limit) });
  if (f.customer) q.set('customer_id', f.customer);
  if (f.field) q.set('field', f.field);
  const page = await api.get<{ data: Conflict[]; next_cursor: string | null }>(
    `/conflicts?${q.toString()}`,
  );
  out.print(page, () =>
    page.data.length === 0
      ? 'no such conflict'
      : table(
          ['id', 'customer', 'field', 'other side', 'winner', 'detected', 'reason'],
          page.data.map((c) => [
            c.id,
            c.customer_id,
            c.field,
            c.target,
            c.winner,
            c.detected_at,
            c.reason,
          ]),
          80,
        ),
  );
  return 0;
}
