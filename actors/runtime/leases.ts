// Partition lease bookkeeping, without IO: how many partitions a worker may hold, which to claim
// or give back, and until when a held lease may still be acted on.
//
// A lease must outlive the longest external call made under it. Stripe calls cannot be fenced (no
// If-Match, no token the API would check), so a call started just before a lease lapses could land
// after another worker took the partition and made its own call: two effects in flight for one
// customer and target. Executors therefore start a call only when `remainingMs` exceeds the call's
// timeout, and the processing deadline sits `marginMs` before the instant the lease can expire.

/** The most partitions one worker takes, so that every live worker gets a share. */
export function fairShare(partitions: number, liveWorkers: number): number {
  return Math.ceil(partitions / Math.max(1, liveWorkers));
}

export interface LeaseView {
  readonly partitions: number;
  readonly workerId: string;
  readonly owned: readonly number[];
  /** Partitions someone holds, as last read; only the keys count here. */
  readonly holders: ReadonlyMap<number, unknown>;
  /** Partitions a previous run of this worker left under its id, to be taken back. */
  readonly reclaiming?: readonly number[];
  readonly liveWorkers: number;
}

export interface LeasePlan {
  readonly claim: number[];
  readonly release: number[];
}

/**
 * Claims free partitions up to the fair share, or gives back what exceeds it. Partitions being
 * taken back count as owned, so the worker does not claim others' share while it waits for them.
 */
export function planLeases(view: LeaseView): LeasePlan {
  const share = fairShare(view.partitions, view.liveWorkers);
  if (view.owned.length > share) {
    const release = [...view.owned].sort((a, b) => b - a).slice(0, view.owned.length - share);
    return { claim: [], release };
  }
  const owned = new Set(view.owned);
  const free = rotate(range(view.partitions), startOffset(view.workerId, view.partitions)).filter(
    (p) => !owned.has(p) && !view.holders.has(p),
  );
  const wanted = share - view.owned.length - (view.reclaiming?.length ?? 0);
  return { claim: free.slice(0, Math.max(0, wanted)), release: [] };
}

/** The default processing margin: 40 % of the TTL. */
export function defaultMarginMs(ttlMs: number): number {
  return Math.round(ttlMs * 0.4);
}

/**
 * How long a lease that a previous run left under this worker's id must be seen unchanged before
 * it is taken back: its call horizon. That run started a call only while
 * `remainingMs > callTimeout + callSlack`, and `remainingMs` ran out `ttl − margin` after the send
 * of its last renewal, so its calls all ended by that send + `ttl − margin − callSlack`. The send
 * came before this run first saw the revision it wrote, so counting from that sighting, on this
 * process's clock, is safe without comparing clocks. The identity lock proves the run gone, so
 * nothing else of it still acts; its writes in flight were revision CAS.
 */
export function reclaimWaitMs(o: { ttlMs: number; marginMs: number; callSlackMs: number }): number {
  return Math.max(0, o.ttlMs - o.marginMs - o.callSlackMs);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function rotate<T>(xs: T[], by: number): T[] {
  return [...xs.slice(by), ...xs.slice(0, by)];
}

/** Workers starting together try different partitions first, so fewer claims collide. */
function startOffset(workerId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < workerId.length; i++) {
    h ^= workerId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

interface Held {
  revision: number;
  /** The earliest instant the store may expire the lease: when the write was sent, plus the TTL. */
  expiresAt: number;
}

/**
 * The leases this worker holds. Times are this process's clock; the store expires a lease TTL
 * after it stored the last renewal, which is never before the renewal was sent, so counting from
 * the send is safe whatever the clocks of other machines say.
 */
export class LeaseBook {
  readonly #held = new Map<number, Held>();
  readonly #ttlMs: number;
  readonly #marginMs: number;

  constructor(options: { ttlMs: number; marginMs: number }) {
    if (options.marginMs >= options.ttlMs)
      throw new RangeError('the margin must be shorter than the lease');
    this.#ttlMs = options.ttlMs;
    this.#marginMs = options.marginMs;
  }

  /** Records a claim or a renewal whose write was sent at `sentAt`. */
  hold(partition: number, revision: number, sentAt: number): void {
    this.#held.set(partition, { revision, expiresAt: sentAt + this.#ttlMs });
  }

  drop(partition: number): void {
    this.#held.delete(partition);
  }

  revision(partition: number): number | undefined {
    return this.#held.get(partition)?.revision;
  }

  /** How long the partition may still be acted on; 0 once past the processing deadline. */
  remainingMs(partition: number, now: number): number {
    const held = this.#held.get(partition);
    if (!held) return 0;
    return Math.max(0, held.expiresAt - this.#marginMs - now);
  }

  holds(partition: number, now: number): boolean {
    return this.remainingMs(partition, now) > 0;
  }

  /** Partitions recorded as held whose processing deadline has passed. */
  overdue(now: number): number[] {
    return this.owned().filter((p) => !this.holds(p, now));
  }

  owned(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }
}
