// JetStream's wrong-last-sequence answer to a KV write is a lost CAS race; it becomes our
// ConcurrencyError so that the runtime never sees a library error class.
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { ConcurrencyError } from '../../core/errors.ts';

export function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** Runs a CAS write, turning a lost race into `ConcurrencyError`. */
export async function casWrite<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isWrongLastSequence(err))
      throw new ConcurrencyError(`${what} changed concurrently`, { cause: err });
    throw err;
  }
}
