// Keeps this worker's partition leases: announces the worker, renews what it holds, drops what it
// could not renew in time, and claims or gives back partitions towards its fair share. The
// partition consumers start and stop through the callbacks, always before a lease is written away.
import { ConcurrencyError } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';
import type { LeaseStore } from '../../core/worker-ports.ts';
import { LeaseBook, planLeases } from './leases.ts';

export interface LeaseKeeperOptions {
  readonly store: LeaseStore;
  readonly workerId: string;
  readonly partitions: number;
  /** Default: a fifth of the lease TTL. */
  readonly renewEveryMs?: number;
  /** How long before the lease can expire this worker stops acting on it. Default: 40 % of the TTL. */
  readonly marginMs?: number;
  readonly now?: () => number;
  readonly log: Logger;
  /** Starts processing a partition that was just claimed. */
  readonly onAcquired: (partition: number) => Promise<void>;
  /** Stops processing a partition (lost, or about to be released); resolves once nothing runs. */
  readonly onStopped: (partition: number, why: 'lost' | 'released') => Promise<void>;
}

export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  readonly #book: LeaseBook;
  readonly #now: () => number;
  readonly #renewEveryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #tick: Promise<void> = Promise.resolve();
  /** Partitions whose processing is still starting; a round never waits for them. */
  readonly #starting = new Map<number, Promise<void>>();
  #ticking = false;
  #stopped = false;

  constructor(options: LeaseKeeperOptions) {
    this.#o = options;
    const ttlMs = options.store.ttlMs;
    this.#book = new LeaseBook({ ttlMs, marginMs: options.marginMs ?? Math.round(ttlMs * 0.4) });
    this.#now = options.now ?? Date.now;
    this.#renewEveryMs = options.renewEveryMs ?? Math.max(50, Math.round(ttlMs / 5));
  }

  /** Runs the first round (so the worker starts with its share), then keeps going on a timer. */
  async start(): Promise<void> {
    await this.tick();
    this.#timer = setInterval(() => void this.tick(), this.#renewEveryMs);
    // Deadlines are checked on their own, so a round stuck on a slow store cannot keep a worker
    // acting on a lease past its deadline.
    this.#watchdog = setInterval(() => void this.#dropOverdue(), Math.max(25, Math.round(this.#renewEveryMs / 4)));
  }

  /** Whether this worker may act on `partition` right now. */
  holds(partition: number): boolean {
    return this.#book.holds(partition, this.#now());
  }

  remainingMs(partition: number): number {
    return this.#book.remainingMs(partition, this.#now());
  }

  owned(): number[] {
    return this.#book.owned();
  }

  /** One round; a round still running makes this one a no-op. */
  tick(): Promise<void> {
    if (this.#ticking || this.#stopped) return this.#tick;
    this.#ticking = true;
    this.#tick = this.#round()
      .catch((err: unknown) => this.#o.log.warn({ err }, 'lease round failed'))
      .finally(() => (this.#ticking = false));
    return this.#tick;
  }

  /**
   * Stops renewing. With `release`, stops each partition and frees its lease so that others take
   * it at once; without, leaves the leases to expire, as a crash would.
   */
  async stop(options: { release: boolean }): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#watchdog);
    await this.#tick;
    await Promise.all([...this.#starting.values()]);
    await Promise.all(
      this.#book.owned().map(async (p) => {
        if (options.release) return this.#release(p);
        this.#book.drop(p);
        await this.#o.onStopped(p, 'lost');
      }),
    );
    if (options.release) await this.#o.store.leave(this.#o.workerId).catch(() => {});
  }

  async #round(): Promise<void> {
    const { store, workerId } = this.#o;
    // Presence only shapes the fair share; failing to announce it must not stop the renewals.
    await store.heartbeat(workerId).catch((err: unknown) => this.#o.log.warn({ err }, 'presence heartbeat failed'));
    await Promise.all(this.#book.owned().map((p) => this.#renew(p)));
    await this.#dropOverdue();
    if (this.#stopped) return;
    const [live, holders] = await Promise.all([store.liveWorkers(), store.holders(this.#o.partitions)]);
    const plan = planLeases({
      partitions: this.#o.partitions,
      workerId,
      owned: this.#book.owned(),
      holders,
      liveWorkers: new Set([...live, workerId]).size,
    });
    for (const p of plan.release) await this.#release(p);
    if (this.#stopped) return;
    await Promise.all(plan.claim.map((p) => this.#claim(p)));
  }

  async #renew(p: number): Promise<void> {
    const revision = this.#book.revision(p);
    if (revision === undefined) return;
    const sentAt = this.#now();
    try {
      const next = await this.#o.store.renew(p, this.#o.workerId, revision);
      // The watchdog may have dropped it while the write was in flight; a late success is no lease.
      if (this.#book.revision(p) === revision) this.#book.hold(p, next, sentAt);
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) {
        this.#o.log.warn({ err, partition: p }, 'lease renewal failed; will retry');
        return;
      }
      this.#o.log.warn({ partition: p }, 'lease taken over; stopping the partition');
      await this.#lose(p);
    }
  }

  async #claim(p: number): Promise<void> {
    const sentAt = this.#now();
    const revision = await this.#o.store.claim(p, this.#o.workerId);
    if (revision === undefined) return;
    this.#book.hold(p, revision, sentAt);
    this.#o.log.info({ partition: p }, 'partition acquired');
    // Started in the background: a slow start must not hold up the renewals of the next round.
    const starting = this.#o.onAcquired(p).catch(async (err: unknown) => {
      this.#o.log.error({ err, partition: p }, 'partition could not start; giving it back');
      this.#starting.delete(p);
      await this.#release(p);
    });
    this.#starting.set(p, starting);
    void starting.finally(() => {
      if (this.#starting.get(p) === starting) this.#starting.delete(p);
    });
  }

  async #release(p: number): Promise<void> {
    await this.#starting.get(p);
    const revision = this.#book.revision(p);
    if (revision === undefined) return;
    await this.#o.onStopped(p, 'released');
    this.#book.drop(p);
    await this.#o.store.release(p, revision).catch((err: unknown) => {
      this.#o.log.warn({ err, partition: p }, 'lease release failed; it will expire');
    });
    this.#o.log.info({ partition: p }, 'partition released');
  }

  async #dropOverdue(): Promise<void> {
    for (const p of this.#book.overdue(this.#now())) {
      this.#o.log.warn({ partition: p }, 'lease not renewed in time; stopping the partition');
      await this.#lose(p);
    }
  }

  async #lose(p: number): Promise<void> {
    if (this.#book.revision(p) === undefined) return;
    this.#book.drop(p);
    await this.#starting.get(p);
    await this.#o.onStopped(p, 'lost');
  }
}
