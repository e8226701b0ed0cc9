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
  /** Held partitions and their holders, as last read. */
  readonly holders: ReadonlyMap<number, string>;
  readonly liveWorkers: number;
}

export interface LeasePlan {
  readonly claim: number[];
  readonly release: number[];
}

/** Claims free partitions up to the fair share, or gives back what exceeds it. */
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
  return { claim: free.slice(0, share - view.owned.length), release: [] };
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
    if (options.marginMs >= options.ttlMs) throw new RangeError('the margin must be shorter than the lease');
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
