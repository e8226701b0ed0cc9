// When each change's Stripe call was done, as the Stripe emulator saw it: its request log records
// every answered request with the emulator's clock (ms) taken once the reply is ready, and rtws's
// idempotency keys name the customer and version (`rtws-<id>-create`, `rtws-<id>-<version>-update`).
// The log is read through request-feed.ts, which hands on each new request once.
import { sleep } from './report.ts';
import { requestFeed, type AnsweredRequest } from './request-feed.ts';

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

  function take(r: AnsweredRequest): void {
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

  const feed = requestFeed(emulatorUrl, take, { method: 'POST', path: '/v1/customers' });

  return {
    doneAt,
    get done() {
      return doneAt.size;
    },
    get failed() {
      return failed;
    },
    get overruns() {
      return feed.overruns;
    },
    async waitForDone(count, timeoutMs) {
      let seen = doneAt.size;
      let progressAt = Date.now();
      while (doneAt.size < count) {
        if (feed.error)
          throw new Error('reading the emulator request log failed', { cause: feed.error });
        if (doneAt.size > seen) [seen, progressAt] = [doneAt.size, Date.now()];
        if (Date.now() - progressAt > timeoutMs)
          throw new Error(`${doneAt.size} of ${count} Stripe calls done; none for ${timeoutMs} ms`);
        await sleep(POLL_MS);
      }
    },
    stop: () => feed.stop(),
  };
}
