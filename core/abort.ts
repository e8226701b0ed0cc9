// Waiting for work or a stop, whichever comes first, without a cost that grows with the waits.
// `Promise.race([work, stopped])` on a long-lived `stopped` promise leaves a reaction on it for
// every call, kept until it settles: a consumer that raced its stop once per message held one per
// message it ever took, for as long as it ran.

/**
 * Settles as `work` does, or resolves (with `undefined`) once `signal` is aborted, whichever comes
 * first. The listener on the signal is removed as soon as `work` settles, so a signal waited on
 * many times holds nothing of the waits that are over. The work itself goes on after an abort.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const aborted = () => resolve(undefined);
    signal.addEventListener('abort', aborted, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', aborted);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', aborted);
        reject(err instanceof Error ? err : new Error('failed', { cause: err }));
      },
    );
  });
}
