// Every request the Stripe emulator answers (or those of one method and path prefix), as it answers
// them: its request log is a ring of the last 5,000, so it is read often, and each read asks only
// for the requests after the last one seen (`?after=`), so that the bench and the emulator do not
// encode and parse the whole ring five times a second on the cores they share with rtws. Each new
// record is handed on once.
import { sleep } from './report.ts';

export interface AnsweredRequest {
  requestId: string;
  method: string;
  path: string;
  status: number;
  idempotencyKey: string | null;
  /** The emulator's clock (ms) once the reply was ready. */
  at: number;
}

export interface RequestFeed {
  /** Polls that found the ring turned over since the last one: requests may have gone unseen. */
  readonly overruns: number;
  /** Why the last read failed, if it did (the feed goes on polling). */
  readonly error: unknown;
  /** Reads the log once more, so that everything answered before this call has been handed on. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const POLL_MS = 200;

export function requestFeed(
  emulatorUrl: string,
  onRequest: (r: AnsweredRequest) => void,
  filter: { method?: string; path?: string } = {},
): RequestFeed {
  let last: string | undefined;
  let overruns = 0;
  let running = true;
  let pollError: unknown;
  let polling: Promise<void> = Promise.resolve();

  async function read(): Promise<void> {
    const query = new URLSearchParams();
    if (filter.method !== undefined) query.set('method', filter.method);
    if (filter.path !== undefined) query.set('path', filter.path);
    if (last !== undefined) query.set('after', last);
    const res = await fetch(`${emulatorUrl}/_emulator/requests?${query.toString()}`);
    if (!res.ok) throw new Error(`emulator request log: ${res.status}`);
    const { data, gap } = (await res.json()) as { data: AnsweredRequest[]; gap?: boolean };
    if (gap === true && data.length > 0) overruns++;
    for (const r of data) onRequest(r);
    last = data.at(-1)?.requestId ?? last;
  }

  // One read at a time: a flush waits for the poll in progress, then reads again.
  const poll = () => (polling = polling.then(read).catch((err: unknown) => void (pollError = err)));

  const loop = (async () => {
    while (running) {
      await poll();
      await sleep(POLL_MS);
    }
  })();

  return {
    get overruns() {
      return overruns;
    },
    get error() {
      return pollError;
    },
    async flush() {
      await poll();
      if (pollError)
        throw new Error('reading the emulator request log failed', { cause: pollError });
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
