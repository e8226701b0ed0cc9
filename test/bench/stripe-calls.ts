// When each change's Stripe call was done, as the Stripe emulator saw it: its request log records
// every answered request with the emulator's clock (ms) taken once the reply is ready, and rtws's
// idempotency keys name the customer and version (`rtws-<id>-create`, `rtws-<id>-<version>-update`).
// The log is a ring of the last 5,000 requests, so it is read often and only its new tail is kept.
import { sleep } from './report.ts';

interface RequestRecord {
  requestId: string;
  method: string;
  path: string;
  status: number;
  idempotencyKey: string | null;
  at: number;
}

const POLL_MS = 250;
const CREATE = /^rtws-(.+)-create(?:-a\d+)?$/;
const UPDATE = /^rtws-(.+)-(\d+)-update(?:-a\d+)?$/;

/** `<customer id>:v<version>`: one change. */
export const changeKey = (customerId: string, version: number) => `${customerId}:v${version}`;

export interface StripeCalls {
  /** When the first successful call for each change was answered (emulator clock, ms). */
  readonly doneAt: ReadonlyMap<string, number>;
  /** Changes done so far. */
  readonly done: number;
  /** Answers other than 200. */
  readonly failed: number;
  /** Polls that found the ring turned over since the last one: calls may have gone unseen. */
  readonly overruns: number;
  /** Resolves once `count` changes are done; rejects after `timeoutMs` without progress. */
  waitForDone(count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export function watchStripeCalls(emulatorUrl: string): StripeCalls {
  const doneAt = new Map<string, number>();
  let failed = 0;
  let overruns = 0;
  let last: string | undefined;
  let running = true;
  let pollError: unknown;

  function take(r: RequestRecord): void {
    if (r.status !== 200 || r.idempotencyKey === null) {
      if (r.status !== 200) failed++;
      return;
    }
    const create = CREATE.exec(r.idempotencyKey);
    const update = create ? undefined : UPDATE.exec(r.idempotencyKey);
    const key = create
      ? changeKey(create[1]!, 1)
      : update
        ? changeKey(update[1]!, Number(update[2]))
        : undefined;
    if (key !== undefined && !doneAt.has(key)) doneAt.set(key, r.at);
  }

  async function poll(): Promise<void> {
    const res = await fetch(`${emulatorUrl}/_emulator/requests?method=POST&path=/v1/customers`);
    const { data } = (await res.json()) as { data: RequestRecord[] };
    const from = last === undefined ? 0 : data.findIndex((r) => r.requestId === last) + 1;
    if (from === 0 && last !== undefined && data.length > 0) overruns++; // the ring turned over between two polls
    for (const r of data.slice(from)) take(r);
    last = data.at(-1)?.requestId ?? last;
  }

  const loop = (async () => {
    while (running) {
      await poll().catch((err: unknown) => (pollError = err));
      await sleep(POLL_MS);
    }
  })();

  return {
    doneAt,
    get done() {
      return doneAt.size;
    },
    get failed() {
      return failed;
    },
    get overruns() {
      return overruns;
    },
    async waitForDone(count, timeoutMs) {
      let seen = doneAt.size;
      let progressAt = Date.now();
      while (doneAt.size < count) {
        if (pollError)
          throw new Error('reading the emulator request log failed', { cause: pollError });
        if (doneAt.size > seen) [seen, progressAt] = [doneAt.size, Date.now()];
        if (Date.now() - progressAt > timeoutMs)
          throw new Error(`${doneAt.size} of ${count} Stripe calls done; none for ${timeoutMs} ms`);
        await sleep(POLL_MS);
      }
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
