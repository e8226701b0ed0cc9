// `backfill`, `reconcile` and `resync --all`: started through the API of a running rtws, whose
// workers run them (paced behind live changes), and followed here with a progress bar until they
// end. Interrupting the command stops following, not the work.
import type { CliApi } from './api-client.ts';
import { ApiError } from './errors.ts';
import { progressPrinter, type WorkView } from './progress.ts';
import { table } from './output.ts';

export type WorkKind = 'backfill' | 'reconcile';

const ENDED = new Set(['done', 'failed', 'cancelled', 'paused']);

const VERDICT: Record<string, (b: WorkView) => string> = {
  done: () => 'done',
  failed: (b) => `failed: ${b.last_error ?? 'unknown error'}`,
  cancelled: () => 'cancelled',
  paused: (b) => `paused: POST /backfills/${b.id}/resume carries it on`,
  running: (b) => `still running in rtws: GET /backfills/${b.id} follows it`,
};

/** A dry run of a backfill: what it would do, with nothing written. */
export async function dryRun(api: CliApi, body: object, json: boolean): Promise<number> {
  const result = await api.post<{ scanned: number; counts: Record<string, number> }>('/backfills', {
    ...body,
    dry_run: true,
  });
  if (json || process.stdout.isTTY !== true) console.log(JSON.stringify(result));
  else
    console.log(
      `dry run: ${result.scanned} scanned, nothing written\n${table(
        ['decision', 'count'],
        Object.entries(result.counts),
      )}`,
    );
  return 0;
}

/** Starts the work (or follows the one already active) and shows its progress until it ends. */
export async function runWork(
  api: CliApi,
  kind: WorkKind,
  body: object,
  json: boolean,
): Promise<number> {
  const show = progressPrinter(json);
  const path = kind === 'backfill' ? '/backfills' : '/reconciliations';
  let b: WorkView;
  try {
    b = await api.post<WorkView>(path, body);
    show.note(`${kind} ${b.id} started (GET ${path}/${b.id})`);
  } catch (err) {
    // One at a time per source: the answer names the active one, which is followed instead.
    const active =
      err instanceof ApiError && err.status === 409 && /backfill (\d+)/.exec(err.message);
    if (!active) throw err;
    b = await api.get<WorkView>(`${path}/${active[1]}`);
    show.note(
      `${kind} ${b.id} is already ${b.state}: following it (this command's own options are not applied)`,
    );
  }
  // Unknown (the route failed) is not "none": the work is followed as usual.
  const workers = await api.get<{ data: { live: boolean }[] }>('/workers').catch(() => undefined);
  const noWorker = workers !== undefined && !workers.data.some((w) => w.live);
  if (noWorker) show.note('no rtws worker is running: the work starts when one does');
  let interrupted = false;
  const stop = () => (interrupted = true);
  process.once('SIGINT', stop);
  try {
    for (;;) {
      show.progress(b);
      if (ENDED.has(b.state) || interrupted || noWorker) break;
      await new Promise((r) => setTimeout(r, 500));
      b = await api.get<WorkView>(`${path}/${b.id}`);
    }
  } finally {
    process.off('SIGINT', stop);
  }
  show.end();
  if (!show.bar)
    console.log(
      JSON.stringify({ backfill: b.id, state: b.state, scanned: b.scanned, counts: b.counts }),
    );
  const counts = Object.entries(b.counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  console.error(
    `${kind} ${b.id}: ${(VERDICT[b.state] ?? VERDICT.running!)(b)} · scanned ${b.scanned}${counts ? ` · ${counts}` : ''}`,
  );
  // Only work done is a success: failed, cancelled, paused or not over yet is not.
  return b.state === 'done' ? 0 : 1;
}
