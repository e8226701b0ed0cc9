// Every request the Stripe emulator answers, as it answers them: its request log is a ring of the
// last 5,000, so it is read often and each new record is handed on once. Unlike stripe-calls.ts,
// which keeps only the customer writes of rtws's changes, this sees every method and path.
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
  /** Reads the log once more, so that everything answered before this call has been handed on. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const POLL_MS = 200;

export function requestFeed(
  emulatorUrl: string,
  onRequest: (r: AnsweredRequest) => void,
): RequestFeed {
  let last: string | undefined;
  let overruns = 0;
  let running = true;
  let pollError: unknown;
  let polling: Promise<void> = Promise.resolve();

  async function read(): Promise<void> {
    const res = await fetch(`${emulatorUrl}/_emulator/requests`);
    if (!res.ok) throw new Error(`emulator request log: ${res.status}`);
    const { data } = (await res.json()) as { data: AnsweredRequest[] };
    const from = last === undefined ? 0 : data.findIndex((r) => r.requestId === last) + 1;
    if (from === 0 && last !== undefined && data.length > 0) overruns++;
    for (const r of data.slice(from)) onRequest(r);
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
