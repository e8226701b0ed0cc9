// Keeps this worker's partition leases: announces the worker, renews what it holds, drops what it
// could not renew in time, and claims or gives back partitions towards its fair share. The
// partition consumers start and stop through the callbacks, always before a lease is written away.
// With `reclaimAfterMs`, it also takes back the leases a previous run under the same id left.
import { ConcurrencyError } from '../../core/errors.ts';
import { isInfrastructureFault } from '../../core/infrastructure.ts';
import { backoffMs, type BackoffPolicy } from '../../core/policy/backoff.ts';
import type { Logger } from '../../core/ports.ts';
import type { Lease, LeaseStore } from '../../core/worker-ports.ts';
import { LeaseBook, defaultMarginMs, planLeases } from './leases.ts';

/** Waits between starts of a partition while NATS or Postgres is unavailable: up to 5 s. */
const START_RETRY: BackoffPolicy = Object.freeze({
  baseMs: 250,
  factor: 2,
  capMs: 5_000,
  jitter: 0.3,
});

export interface LeaseKeeperOptions {
  readonly store: LeaseStore;
  readonly workerId: string;
  readonly partitions: number;
  /** Default: a fifth of the lease TTL. */
  readonly renewEveryMs?: number;
  /** How long before the lease can expire this worker stops acting on it. Default: 40 % of the TTL. */
  readonly marginMs?: number;
  /**
   * Set only where no other live process can have this worker's id (the identity lock): a lease
   * the store shows under this id but this keeper does not hold, a previous run's, is taken back
   * once seen unchanged this long (`reclaimWaitMs` in leases.ts). Unset: such leases expire.
   */
  readonly reclaimAfterMs?: number;
  readonly now?: () => number;
  readonly log: Logger;
  /** Starts processing a partition that was just claimed. */
  readonly onAcquired: (partition: number) => Promise<void>;
  /** Stops processing a partition (lost, or about to be released); resolves once nothing runs. */
  readonly onStopped: (partition: number, why: 'lost' | 'released') => Promise<void>;
}

/** A round that has run this long holds up every renewal and claim: it is reported. */
export interface StuckRound {
  readonly runningMs: number;
  /**
   * The partition starts and stops in progress, the round's and the watchdog's, e.g. `partition 3
   * to stop (lost)`: the round waits for its own.
   */
  readonly waitingFor: readonly string[];
}

/** A lease left under this worker's id, and when this keeper first saw it at that revision. */
interface Sighting {
  readonly revision: number;
  readonly at: number;
}

export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  readonly #book: LeaseBook;
  readonly #now: () => number;
  readonly #renewEveryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #wake: NodeJS.Timeout | undefined;
  #tick: Promise<void> = Promise.resolve();
  /** Partitions whose processing is still starting; a round never waits for them. */
  readonly #starting = new Map<number, Promise<void>>();
  /**
   * Partitions lost whose stop is still running (its calls handed over, say): a start of the same
   * partition, claimed again meanwhile, waits for it, or the stop would end what the start began.
   */
  readonly #losing = new Map<number, Promise<void>>();
  #sightings = new Map<number, Sighting>();
  /** Partitions being given back: their steps finish, but no new external call starts. */
  readonly #releasing = new Set<number>();
  /** Partitions whose start, waiting for NATS or Postgres, should give up: released or lost. */
  readonly #abandoned = new Set<number>();
  #ticking = false;
  /** When the running round began, and when it was last reported as stuck. */
  #roundAt = 0;
  #reportedAt: number | undefined;
  /** The partition starts and stops in progress (a round's, or the watchdog's), each its own. */
  readonly #waits = new Set<{ readonly partition: number; readonly what: string }>();
  #started = false;
  #stopped = false;

  constructor(options: LeaseKeeperOptions) {
    this.#o = options;
    const ttlMs = options.store.ttlMs;
    this.#book = new LeaseBook({ ttlMs, marginMs: options.marginMs ?? defaultMarginMs(ttlMs) });
    this.#now = options.now ?? Date.now;
    this.#renewEveryMs = options.renewEveryMs ?? Math.max(50, Math.round(ttlMs / 5));
  }

  /** Runs the first round (so the worker starts with its share), then keeps going on a timer. */
  async start(): Promise<void> {
    this.#started = true;
    await this.tick();
    this.#timer = setInterval(() => void this.tick(), this.#renewEveryMs);
    // Deadlines are checked on their own, so a round stuck on a slow store cannot keep a worker
    // acting on a lease past its deadline.
    this.#watchdog = setInterval(
      () => void this.#dropOverdue(),
      Math.max(25, Math.round(this.#renewEveryMs / 4)),
    );
  }

  /** Whether this worker may act on `partition` right now. */
  holds(partition: number): boolean {
    return this.#book.holds(partition, this.#now());
  }

  /**
   * How long this worker may still start external calls for `partition`: 0 once it is being given
   * back, so that the calls already sent are the last before the next holder's.
   */
  remainingMs(partition: number): number {
    if (this.#releasing.has(partition)) return 0;
    return this.#book.remainingMs(partition, this.#now());
  }

  owned(): number[] {
    return this.#book.owned();
  }

  /** Partitions a previous run under this id left, waiting for their call horizon to pass. */
  reclaiming(): number[] {
    return [...this.#sightings.keys()].sort((a, b) => a - b);
  }

  /**
   * One round; a round still running makes this one a no-op. Such a round holds up every renewal
   * and claim, so one that runs past the lease TTL is logged, once per TTL, with the partition
   * starts and stops in progress.
   */
  tick(): Promise<void> {
    if (this.#stopped) return this.#tick;
    if (this.#ticking) {
      this.#reportStuck();
      return this.#tick;
    }
    this.#ticking = true;
    this.#roundAt = this.#now();
    this.#reportedAt = undefined;
    this.#tick = this.#round()
      .catch((err: unknown) => this.#o.log.warn({ err }, 'lease round failed'))
      .finally(() => (this.#ticking = false));
    return this.#tick;
  }

  /** The running round, once it has run longer than the lease TTL; undefined otherwise. */
  stuck(): StuckRound | undefined {
    const runningMs = this.#now() - this.#roundAt;
    if (!this.#ticking || runningMs <= this.#o.store.ttlMs) return undefined;
    return {
      runningMs,
      waitingFor: [...this.#waits]
        .sort((a, b) => a.partition - b.partition)
        .map(({ partition, what }) => `partition ${partition} ${what}`),
    };
  }

  #reportStuck(): void {
    const stuck = this.stuck();
    const now = this.#now();
    if (!stuck || (this.#reportedAt !== undefined && now - this.#reportedAt < this.#o.store.ttlMs))
      return;
    this.#reportedAt = now;
    this.#o.log.error(
      { running_ms: stuck.runningMs, waiting_for: stuck.waitingFor },
      'lease round stuck: no lease is renewed or claimed until it ends',
    );
  }

  /** Awaits a partition's start or stop, noted so that a stuck round can say what holds it. */
  async #waitFor(p: number, what: string, work: Promise<void> | undefined): Promise<void> {
    if (work === undefined) return;
    const wait = { partition: p, what };
    this.#waits.add(wait);
    try {
      await work;
    } finally {
      this.#waits.delete(wait);
    }
  }

  /**
   * Stops renewing. With `release`, stops each partition and frees its lease so that others take
   * it at once; without, leaves the leases to expire, as a crash would.
   */
  async stop(options: { release: boolean }): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#watchdog);
    clearTimeout(this.#wake);
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
    await store
      .heartbeat(workerId)
      .catch((err: unknown) => this.#o.log.warn({ err }, 'presence heartbeat failed'));
    await Promise.all(this.#book.owned().map((p) => this.#renew(p)));
    await this.#dropOverdue();
    if (this.#stopped) return;
    const [live, holders] = await Promise.all([
      store.liveWorkers(),
      store.holders(this.#o.partitions),
    ]);
    // Taken once the answer is in: every revision it shows was sent before this instant.
    const seenAt = this.#now();
    const plan = planLeases({
      partitions: this.#o.partitions,
      workerId,
      owned: this.#book.owned(),
      holders,
      reclaiming: this.#sight(holders, seenAt),
      liveWorkers: new Set([...live, workerId]).size,
    });
    // Together: each stop waits for its calls in flight, and the round, holding up the renewals
    // of the partitions kept, waits for the longest of them rather than for their sum.
    await Promise.all(plan.release.map((p) => this.#release(p)));
    if (this.#stopped) return;
    await Promise.all([
      ...plan.claim.map((p) => this.#claim(p)),
      ...this.#due(seenAt).map(([p, { revision }]) => this.#takeBack(p, revision)),
    ]);
    this.#wakeForTakeBack();
  }

  /** Tracks the leases under this id that this keeper does not hold; a new revision starts over. */
  #sight(holders: ReadonlyMap<number, Lease>, now: number): number[] {
    if (this.#o.reclaimAfterMs === undefined) return [];
    const sightings = new Map<number, Sighting>();
    for (const [p, { holder, revision }] of holders) {
      if (holder !== this.#o.workerId || this.#book.revision(p) !== undefined) continue;
      const before = this.#sightings.get(p);
      sightings.set(p, before?.revision === revision ? before : { revision, at: now });
    }
    this.#sightings = sightings;
    return [...sightings.keys()];
  }

  #due(now: number): [number, Sighting][] {
    const after = this.#o.reclaimAfterMs ?? Infinity;
    return [...this.#sightings].filter(([, s]) => now >= s.at + after);
  }

  /** A takeback falls due between rounds: a round at that instant saves up to a renewal period. */
  #wakeForTakeBack(): void {
    const after = this.#o.reclaimAfterMs;
    if (!this.#started || this.#stopped || after === undefined) return;
    const inMs = Math.min(...[...this.#sightings.values()].map((s) => s.at + after)) - this.#now();
    clearTimeout(this.#wake);
    if (inMs < this.#renewEveryMs)
      this.#wake = setTimeout(() => void this.tick(), Math.max(0, inMs));
  }

  async #renew(p: number): Promise<void> {
    const revision = this.#book.revision(p);
    if (revision === undefined) return;
    const sentAt = this.#now();
    try {
      const next = await this.#o.store.renew(p, this.#o.workerId, revision);
      // The watchdog may have dropped it while the write was in flight; a late success is no
      // lease, and is given back rather than left under this id until it expires.
      if (this.#book.revision(p) === revision) this.#book.hold(p, next, sentAt);
      else await this.#o.store.release(p, next).catch(() => {});
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) {
        this.#o.log.warn({ err, partition: p }, 'lease renewal failed; will retry');
        return;
      }
      if (await this.#renewLanded(p, revision)) return;
      this.#o.log.warn({ partition: p }, 'lease taken over; stopping the partition');
      await this.#lose(p);
    }
  }

  /**
   * A renewal whose answer timed out may have landed all the same: the lease is then still this
   * worker's, at a later revision, and is renewed from there rather than given up (it would stay
   * under this id, unclaimable, until it expired).
   */
  async #renewLanded(p: number, revision: number): Promise<boolean> {
    const { store, workerId } = this.#o;
    const now = (await store.holders(this.#o.partitions).catch(() => undefined))?.get(p);
    if (now?.holder !== workerId || now.revision <= revision) return false;
    const sentAt = this.#now();
    try {
      const next = await store.renew(p, workerId, now.revision);
      if (this.#book.revision(p) === revision) {
        this.#book.hold(p, next, sentAt);
        return true;
      }
      // The watchdog stopped it meanwhile: give it back, rather than leave it under this id.
      await store.release(p, next).catch(() => {});
      return true;
    } catch (err) {
      if (err instanceof ConcurrencyError) return false;
      // Held as before: the next round tries again, and the watchdog still stops it in time.
      this.#o.log.warn({ err, partition: p }, 'lease renewal failed; will retry');
      return true;
    }
  }

  #claim(p: number): Promise<void> {
    return this.#acquire(p, 'partition acquired', () => this.#o.store.claim(p, this.#o.workerId));
  }

  /** A CAS write at the revision seen: if anything wrote since, the lease is not ours to take. */
  async #takeBack(p: number, revision: number): Promise<void> {
    await this.#acquire(p, 'partition taken back from a previous run', () =>
      this.#o.store.renew(p, this.#o.workerId, revision).catch((err: unknown) => {
        if (err instanceof ConcurrencyError) return undefined;
        throw err;
      }),
    );
    // Taken, or changed since: either way the next read decides afresh.
    this.#sightings.delete(p);
  }

  async #acquire(
    p: number,
    message: string,
    write: () => Promise<number | undefined>,
  ): Promise<void> {
    const sentAt = this.#now();
    const revision = await write();
    if (revision === undefined) return;
    this.#book.hold(p, revision, sentAt);
    this.#o.log.info({ partition: p }, message);
    // Started in the background: a slow start must not hold up the renewals of the next round.
    this.#abandoned.delete(p);
    const starting = this.#start(p).catch(async (err: unknown) => {
      this.#o.log.error({ err, partition: p }, 'partition could not start; giving it back');
      this.#starting.delete(p);
      await this.#release(p);
    });
    this.#starting.set(p, starting);
    void starting.finally(() => {
      if (this.#starting.get(p) === starting) this.#starting.delete(p);
    });
  }

  /**
   * Starts the partition. While NATS or Postgres is unavailable (its stream electing a leader, say)
   * the lease is kept and the start tried again, with backoff: giving the partition back would
   * only pass the same wait to another worker, and take it back again, round after round.
   */
  async #start(p: number): Promise<void> {
    const losing = this.#losing.get(p);
    if (losing) {
      await losing;
      // Lost again, given back or stopped while it waited: nothing to start.
      if (this.#stopped || this.#abandoned.has(p) || this.#book.revision(p) === undefined) return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#o.onAcquired(p);
      } catch (err) {
        if (!isInfrastructureFault(err)) throw err;
        // What did start (one kind's consumer, say) stops before the next try starts it again.
        await this.#o
          .onStopped(p, 'released')
          .catch((stopErr: unknown) =>
            this.#o.log.warn({ err: stopErr, partition: p }, 'partition could not stop cleanly'),
          );
        if (attempt === 1 || attempt % 10 === 0)
          this.#o.log.warn(
            { err, partition: p, attempt },
            'partition cannot start while NATS or Postgres is unavailable; keeping its lease and trying again',
          );
        const until = this.#now() + backoffMs(attempt, `start:${p}`, START_RETRY);
        while (this.#now() < until) {
          if (this.#stopped || this.#abandoned.has(p) || this.#book.revision(p) === undefined)
            return;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }

  async #release(p: number): Promise<void> {
    this.#abandoned.add(p);
    await this.#waitFor(p, 'to finish starting', this.#starting.get(p));
    const revision = this.#book.revision(p);
    if (revision === undefined) return;
    this.#releasing.add(p);
    try {
      await this.#waitFor(p, 'to stop (released)', this.#o.onStopped(p, 'released'));
    } finally {
      this.#releasing.delete(p);
    }
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
    this.#abandoned.add(p);
    this.#book.drop(p);
    const starting = this.#starting.get(p);
    const stop = (async () => {
      await this.#waitFor(p, 'to finish starting', starting);
      await this.#waitFor(p, 'to stop (lost)', this.#o.onStopped(p, 'lost'));
    })();
    const settled = stop.then(
      () => undefined,
      () => undefined,
    );
    this.#losing.set(p, settled);
    void settled.then(() => {
      if (this.#losing.get(p) === settled) this.#losing.delete(p);
    });
    await stop;
  }
}
