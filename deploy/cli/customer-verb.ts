// `customer <id>`: where each target stands for the customer, its links and conflicts, and its
// timeline from the streams (GET /customers/:id/sync and /timeline).
import type { CliApi } from './api-client.ts';
import { table, type Out } from './output.ts';

interface Sync {
  customer_id: string;
  version: number;
  deleted: boolean;
  observed: boolean;
  targets: Record<
    string,
    {
      status: string;
      external_id: string | null;
      desired_version: number | null;
      synced_version: number;
      pending: { type: string; attempt: number; not_before: string }[];
      last_error: { failure: string; reason: string } | null;
      waiting?: string;
    }
  >;
  links: Record<string, string>;
  conflicts: { field: string; winner: string; reason: string; detected_at: string }[];
}

interface Timeline {
  entries: {
    at: string;
    kind: string;
    origin: string;
    summary: string;
    seq: number;
    /** The change it belongs to: grep the logs for it. */
    correlation_id?: string;
  }[];
  more: boolean;
}

export async function customer(api: CliApi, out: Out, id: string, limit: number): Promise<number> {
  const path = `/customers/${encodeURIComponent(id)}`;
  const [sync, timeline] = await Promise.all([
    api.get<Sync>(`${path}/sync`),
    api.get<Timeline>(`${path}/timeline?limit=${limit}`),
  ]);
  out.print({ sync, timeline }, () => {
    const targets = Object.entries(sync.targets).map(([name, t]) => [
      name,
      t.status,
      t.external_id,
      `${t.synced_version}/${t.desired_version ?? '-'}`,
      t.pending.map((p) => `${p.type} #${p.attempt}`).join(', ') || null,
      t.waiting ?? (t.last_error ? `${t.last_error.failure}: ${t.last_error.reason}` : null),
    ]);
    return [
      `customer ${sync.customer_id} · v${sync.version}${sync.deleted ? ' · deleted' : ''}${sync.observed ? '' : ' · not yet seen by its actor'}`,
      '',
      table(['target', 'status', 'external id', 'synced/desired', 'pending', 'note'], targets),
      '',
      sync.conflicts.length === 0
        ? 'no conflicts'
        : table(
            ['conflict', 'winner', 'reason', 'detected'],
            sync.conflicts.map((c) => [c.field, c.winner, c.reason, c.detected_at]),
          ),
      '',
      `timeline (oldest first${timeline.more ? `, the latest ${limit}` : ''}):`,
      table(
        ['at', 'kind', 'origin', 'summary', 'correlation'],
        timeline.entries.map((e) => [e.at, e.kind, e.origin, e.summary, e.correlation_id]),
        100,
      ),
    ].join('\n');
  });
  return 0;
}
