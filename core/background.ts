// Work a process starts without waiting for it (resuming a partition's intents), which its
// shutdown must still wait for: a KV listing left running when the connection closes retries
// forever and keeps the process alive.

/** Work running in the background, to be waited for at shutdown. */
export class Background {
  readonly #running = new Set<Promise<void>>();

  /** Starts `work` without waiting; a failure goes to `onError`, never up. */
  run(work: () => Promise<unknown>, onError: (err: unknown) => void): void {
    const task: Promise<void> = work()
      .then(() => undefined, onError)
      .finally(() => this.#running.delete(task));
    this.#running.add(task);
  }

  /** Resolves once everything started so far, and anything it started, has ended. */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
