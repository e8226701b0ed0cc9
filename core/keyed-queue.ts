// Work in lanes by key: a key's tasks run strictly one at a time and in the order posted, while
// different keys run in parallel up to a bound. The actors' mailboxes (a key per actor), the inbound
// consumers (a key per Stripe object) and the outbox publisher (a key per subject) all queue here.
// Posting never blocks; callers that must bound memory wait for `ready()` before they post.

export interface KeyedQueueOptions {
  /** Tasks running at once, across keys. Default: no bound. */
  readonly concurrency?: number;
  /** Tasks queued or running at which `ready()` waits. Default: no bound. */
  readonly maxQueued?: number;
}

/** Runs a queued task; never rejects. Gives back what settles its post, once the books are kept. */
type Letter = () => Promise<() => void>;

export class KeyedQueue {
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #lanes = new Map<string, Letter[]>();
  /** Keys with work and no task running, in the order they became runnable. */
  readonly #runnable: string[] = [];
  readonly #running = new Set<string>();
  #queued = 0;
  #waiters: (() => void)[] = [];

  constructor(options: KeyedQueueOptions = {}) {
    const { concurrency = Infinity, maxQueued = Infinity } = options;
    if (!(concurrency >= 1 && maxQueued >= 1)) throw new RangeError('bounds must be positive');
    this.#concurrency = concurrency;
    this.#maxQueued = maxQueued;
  }

  /** Runs `task` after every task posted earlier for `key`; settles as the task does. */
  post<T>(key: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const letter = async () => {
        try {
          const value = await task();
          return () => resolve(value);
        } catch (err) {
          return () =>
            reject(err instanceof Error ? err : new Error('task failed', { cause: err }));
        }
      };
      const lane = this.#lanes.get(key);
      if (lane) lane.push(letter);
      else {
        this.#lanes.set(key, [letter]);
        this.#runnable.push(key);
      }
      this.#queued++;
      this.#pump();
    });
  }

  /** Resolves when the backlog is below its bound. */
  async ready(): Promise<void> {
    while (this.#queued >= this.#maxQueued) await this.#settled();
  }

  /** Resolves once every posted task has settled. */
  async drained(): Promise<void> {
    while (this.#queued > 0) await this.#settled();
  }

  /** Keys with queued or running work. */
  get active(): number {
    return this.#lanes.size;
  }

  /** Tasks queued or running. */
  get queued(): number {
    return this.#queued;
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#runnable.length > 0) {
      const key = this.#runnable.shift()!;
      const letter = this.#lanes.get(key)?.[0];
      if (!letter) continue;
      this.#running.add(key);
      void this.#run(key, letter);
    }
  }

  async #run(key: string, letter: Letter): Promise<void> {
    const settle = await letter();
    settle();
    this.#running.delete(key);
    this.#queued--;
    const lane = this.#lanes.get(key)!;
    lane.shift();
    // Back of the line, so one busy key cannot starve the others.
    if (lane.length > 0) this.#runnable.push(key);
    else this.#lanes.delete(key);
    this.#wake();
    this.#pump();
  }

  #settled(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
