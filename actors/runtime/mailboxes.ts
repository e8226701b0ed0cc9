// One mailbox per actor: an actor's messages run strictly one at a time and in arrival order,
// while different actors run in parallel up to a bound. Posting is asynchronous and never blocks;
// callers respect `ready()` so that the backlog (and memory) stays bounded.

type Task = () => Promise<void>;

interface Letter {
  run: Task;
  done: (err?: unknown) => void;
}

export class Mailboxes {
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #boxes = new Map<string, Letter[]>();
  /** Keys with work and no task running, in the order they became runnable. */
  readonly #runnable: string[] = [];
  readonly #running = new Set<string>();
  #queued = 0;
  #waiters: (() => void)[] = [];

  constructor(options: { concurrency: number; maxQueued: number }) {
    if (options.concurrency < 1 || options.maxQueued < 1) throw new RangeError('bounds must be positive');
    this.#concurrency = options.concurrency;
    this.#maxQueued = options.maxQueued;
  }

  /** Runs `task` after every task posted earlier for `key`; settles as the task does. */
  post(key: string, task: Task): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (err?: unknown) =>
        err === undefined ? resolve() : reject(err instanceof Error ? err : new Error('task failed', { cause: err }));
      const box = this.#boxes.get(key);
      if (box) box.push({ run: task, done });
      else {
        this.#boxes.set(key, [{ run: task, done }]);
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

  /** Actors with queued or running work. */
  get active(): number {
    return this.#boxes.size;
  }

  /** Tasks queued or running. */
  get queued(): number {
    return this.#queued;
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#runnable.length > 0) {
      const key = this.#runnable.shift()!;
      const letter = this.#boxes.get(key)?.[0];
      if (!letter) continue;
      this.#running.add(key);
      void this.#run(key, letter);
    }
  }

  async #run(key: string, letter: Letter): Promise<void> {
    try {
      await letter.run();
      letter.done();
    } catch (err) {
      letter.done(err ?? new Error('task failed'));
    }
    this.#running.delete(key);
    this.#queued--;
    const box = this.#boxes.get(key)!;
    box.shift();
    // Back of the line, so one busy actor cannot starve the others.
    if (box.length > 0) this.#runnable.push(key);
    else this.#boxes.delete(key);
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
