// The outbox publisher on a thread of its own (RTWS_PUBLISHER_THREAD), so that the API's requests
// and the worker's steps in the same process do not sit between a commit and its publish: each of
// the publisher's round trips (its batch's select, the PubAcks, the delete) otherwise waits its
// turn on the one event loop. The thread has its own Postgres session and NATS connection and runs
// the same publisher (`publisher-thread-main.ts`); its figures come back here every quarter second,
// as `stats`, and its log lines to the process's logger. A thread that ends without being asked to
// is started again.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../core/ports.ts';
import type { OutboxPublisher } from '../../adapters/postgres/outbox/publisher.ts';

/** What the thread is started with: plain values only (it builds its own clients). */
export interface PublisherThreadData {
  readonly databaseUrl: string;
  readonly natsServers: readonly string[];
  readonly namespace: string;
  readonly partitions: number;
  readonly options: { pollMs: number; batchSize: number; window: number };
}

export type Stats = OutboxPublisher['stats'];

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type ToParent =
  | { type: 'started' }
  | { type: 'log'; level: LogLevel; obj: object; msg: string | undefined }
  | { type: 'stats'; stats: Stats }
  | { type: 'stopped'; stats: Stats };

export type ToThread = { type: 'stop' };

/** How often the thread reports its figures. */
export const STATS_EVERY_MS = 250;
/** How long a stop waits for the thread's last batch and flush before ending it. */
const STOP_WAIT_MS = 30_000;
/** The wait before a thread that ended by itself is started again. */
const RESTART_AFTER_MS = 1_000;

/** Under tsx (a `.ts` module) the thread registers tsx before it loads its entry. */
function bootstrap(): string {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(`./publisher-thread-main.${ts ? 'ts' : 'js'}`, import.meta.url).href;
  return ts
    ? `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`
    : `import(${JSON.stringify(entry)})`;
}

/** The publisher's counters: a thread started again counts on from where the last one ended. */
const COUNTERS = ['published', 'batches', 'sleeps', 'armedWaits'] as const;
const noCounts = () =>
  Object.fromEntries(COUNTERS.map((k) => [k, 0])) as Record<(typeof COUNTERS)[number], number>;

export async function startPublisherThread(
  data: PublisherThreadData,
  log: Logger,
): Promise<OutboxPublisher> {
  const stats: Stats = { ...noCounts(), leader: false };
  // Counts of the threads that came before the current one.
  const before = noCounts();
  let last: Stats = { ...stats };
  let stopping = false;
  let current: { worker: Worker; exited: Promise<void> } | undefined;

  const take = (s: Stats) => {
    last = s;
    Object.assign(stats, s);
    for (const k of COUNTERS) stats[k] = before[k] + s[k];
  };

  function spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(bootstrap(), { eval: true, workerData: data });
      let started = false;
      const exited = new Promise<void>((done) => worker.once('exit', () => done()));
      current = { worker, exited };
      worker.on('message', (m: ToParent) => {
        if (m.type === 'log') log[m.level](m.obj, m.msg);
        else if (m.type === 'started') {
          started = true;
          resolve();
        } else take(m.stats);
      });
      worker.on('error', (err) => {
        stats.lastError = String(err);
        if (!started) reject(err);
        else log.error({ err }, 'outbox publisher thread failed');
      });
      worker.once('exit', (code) => {
        stats.leader = false;
        if (!started) reject(new Error(`the outbox publisher thread ended at start (${code})`));
        if (stopping || !started) return;
        for (const k of COUNTERS) before[k] += last[k];
        last = { ...noCounts(), leader: false };
        log.error(
          { code, restartInMs: RESTART_AFTER_MS },
          'outbox publisher thread ended by itself; starting it again (rows wait in the outbox)',
        );
        restart();
      });
    });
  }

  function restart(): void {
    setTimeout(() => {
      if (stopping) return;
      spawn().catch((err: unknown) => {
        log.error({ err }, 'outbox publisher thread could not start again; trying again');
        restart();
      });
    }, RESTART_AFTER_MS).unref();
  }

  await spawn();
  log.info({ thread: true }, 'outbox publisher runs on its own thread');
  return {
    stats,
    async stop() {
      stopping = true;
      const running = current;
      if (!running) return;
      running.worker.postMessage({ type: 'stop' } satisfies ToThread);
      const timeout = setTimeout(() => {
        log.warn({}, 'outbox publisher thread did not stop in time; ending it');
        void running.worker.terminate();
      }, STOP_WAIT_MS);
      await running.exited;
      clearTimeout(timeout);
    },
  };
}
