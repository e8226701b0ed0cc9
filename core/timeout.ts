// A time limit for work that has none of its own: a readiness probe, a publish awaiting its PubAck.
import { RtwsError } from './errors.ts';

/** Work that did not settle within its time limit. */
export class TimeoutError extends RtwsError {
  constructor(what: string, ms: number) {
    super('timeout', `no ${what} within ${ms} ms`);
  }
}

/**
 * Settles as `work` does, or rejects with a `TimeoutError` once `ms` have passed. The work itself
 * goes on: the caller stops waiting for it, nothing more.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, what = 'answer'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
