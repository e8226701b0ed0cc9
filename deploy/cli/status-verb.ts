// `status`: GET /status as tables: the targets and their customers, the backlogs, the work.
import type { CliApi } from './api-client.ts';
import { table, type Out } from './output.ts';

interface Status {
  targets: {
    name: string;
    state: string;
    account: { id: string } | null;
    customers: Record<string, number>;
    counted_at: string | null;
  }[];
  outbox: { depth: number; oldest_age_s: number };
  streams: { stream: string; messages: number; consumer_lag: number; consumers: number }[];
  dlq: { depth: number };
  conflicts: { total: number };
  counters: Record<string, number>;
  work: {
    id: number;
    kind: string;
    source: string;
    state: string;
    done: number;
    total: number | null;
  }[];
}

const COUNTS = ['synced', 'pending', 'retrying', 'failed', 'unlinked', 'waiting'];

export async function status(api: CliApi, out: Out): Promise<number> {
  const s = await api.get<Status>('/status');
  out.print(s, () =>
    [
      table(
        ['target', 'state', 'account', ...COUNTS],
        s.targets.map((t) => [
          t.name,
          t.state,
          t.account?.id,
          ...COUNTS.map((c) => t.customers[c]),
        ]),
      ),
      '',
      `outbox ${s.outbox.depth} (oldest ${s.outbox.oldest_age_s}s) · dlq ${s.dlq.depth} · conflicts ${s.conflicts.total}`,
      '',
      table(
        ['stream', 'messages', 'lag', 'consumers'],
        s.streams.map((x) => [x.stream, x.messages, x.consumer_lag, x.consumers]),
      ),
      '',
      s.work.length === 0
        ? 'no backfill or reconciliation in progress'
        : table(
            ['work', 'id', 'source', 'state', 'done'],
            s.work.map((w) => [w.kind, w.id, w.source, w.state, `${w.done}/${w.total ?? '?'}`]),
          ),
    ].join('\n'),
  );
  return 0;
}
