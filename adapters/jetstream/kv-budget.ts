// One request budget for an external account, shared by every rtws process through a KV entry.
// Time is cut into short windows (250 ms); each window allows its share of the per-second rate,
// and a process reserves a few requests of the current window at a time with a CAS write, then
// spends them locally. A reservation is only good in its window, so no stretch of time sees more
// than the rate, give or take one window (about 2.5% over any 10 s). Requests a process reserved
// and did not spend are lost with their window: a reservation is therefore no larger than a third
// of the window, and no larger than this process has a use for: the takers waiting for it, or, at
// a steady pace, what the window before took beyond what this one has taken so far. At a steady
// pace that makes a reservation per window rather than one per request (a KV round trip each).
// When the pace drops, a window may lose what it reserved and did not take: at most a third of it,
// and no more than the window before took, each time the pace drops. What a process holds is not
// counted as spare room for backfills (`spare`): it was reserved at its live calls' pace.
//
// Clocks: a process takes the entry's window when it is ahead of its own, so a process whose
// clock lags cannot reopen a window the others have closed.
import { StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RequestBudget } from '../../actors/runtime/intent-scheduler.ts';
import { isWrongLastSequence } from './kv-errors.ts';
import { ensureBucketReplicas, type ReplicaOptions } from './replicas.ts';

export const BUDGET_WINDOW_MS = 250;

export interface SharedBudgetOptions extends ReplicaOptions {
  readonly bucket: string;
  /** The budget's key: one per external account (`stripe`). */
  readonly key: string;
  readonly perSecond: number;
  readonly now?: () => number;
}

interface Window {
  /** The window's number: ms since the epoch / BUDGET_WINDOW_MS. */
  w: number;
  /** Requests reserved in it, by every process. */
  n: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function openSharedBudget(
  nc: NatsConnection,
  o: SharedBudgetOptions,
): Promise<SharedBudget> {
  const js = jetstream(nc, { timeout: 2_000 });
  const kv = await new Kvm(js).create(o.bucket, {
    history: 1,
    // Only the current window matters: an idle budget's entry goes away by itself.
    ttl: 60_000,
    storage: StorageType.Memory,
    replicas: o.replicas ?? 1,
  });
  await ensureBucketReplicas(kv, await jetstreamManager(nc, { timeout: 2_000 }), o);
  return sharedBudget(kv, o);
}

/** The requests window `w` allows: the rate spread over the windows, fractions carried over. */
export function windowCap(w: number, perSecond: number): number {
  const per = (perSecond * BUDGET_WINDOW_MS) / 1000;
  return Math.floor((w + 1) * per) - Math.floor(w * per);
}

/** A shared budget whose take may also give up. */
export interface SharedBudget extends RequestBudget {
  /**
   * Takes one request unless none is free within `maxWaitMs` (the wait for this process's earlier
   * takers counts): resolves 0 once taken, or the wait it refused, having taken nothing.
   */
  takeWithin(maxWaitMs: number): Promise<number>;
}

export function sharedBudget(kv: KV, o: SharedBudgetOptions): SharedBudget {
  const now = o.now ?? Date.now;
  const chunk = Math.max(1, Math.ceil((o.perSecond * BUDGET_WINDOW_MS) / 1000 / 3));
  let held = { w: -1, n: 0 };
  /** This process's takes in window `w`, and in the window before it. */
  let taken = { w: -1, n: 0, before: 0 };
  let closed = false;

  function count(w: number): void {
    if (taken.w === w) taken.n++;
    else taken = { w, n: 1, before: taken.w === w - 1 ? taken.n : 0 };
  }

  /** What window `w` is likely still to take, if it keeps the pace of the window before it. */
  function paceLeft(w: number): number {
    if (taken.w === w) return taken.before - taken.n;
    return taken.w === w - 1 ? taken.n : 0;
  }

  async function read(): Promise<{ window: Window; revision: number } | null> {
    const e = await kv.get(o.key);
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return null;
    return { window: JSON.parse(decoder.decode(e.value)) as Window, revision: e.revision };
  }

  /**
   * The entry as this process last wrote it. The next reservation tries its CAS write against it
   * without reading first: where no other process wrote since, as with one worker or a light load,
   * a reservation is one round trip instead of two. A write in between fails the CAS, and the
   * entry is then read as before. It is trusted only for the window after the one it names, and
   * forgotten on any other failure: a bucket made anew (a memory stream lost with its server)
   * numbers its revisions from 1 again, and a stale revision could then match another's write.
   */
  let written: { window: Window; revision: number } | undefined;

  /** Reserves up to `want` requests of the current window; 0 when the window is spent. */
  async function reserve(want: number): Promise<{ w: number; got: number }> {
    // Other processes only add to a window, so one spent by this process's reckoning is spent.
    const fresh = written && written.window.w >= Math.floor(now() / BUDGET_WINDOW_MS) - 1;
    let seen = fresh ? written : await read();
    for (;;) {
      const mine = Math.floor(now() / BUDGET_WINDOW_MS);
      const w = Math.max(mine, seen?.window.w ?? mine);
      const used = seen && seen.window.w === w ? seen.window.n : 0;
      const got = Math.min(want, windowCap(w, o.perSecond) - used);
      if (got <= 0) return { w, got: 0 };
      const window = { w, n: used + got } satisfies Window;
      const next = encoder.encode(JSON.stringify(window));
      try {
        const revision = seen
          ? await kv.update(o.key, next, seen.revision)
          : await kv.create(o.key, next);
        written = { window, revision };
        return { w, got };
      } catch (err) {
        // Another process wrote first: read again. `create` meets an entry just made the same way.
        if (isWrongLastSequence(err) || (err as Error).message?.includes('wrong last sequence')) {
          written = undefined;
          seen = await read();
          continue;
        }
        written = undefined;
        throw err;
      }
    }
  }

  /**
   * One request, from what this process holds or a new reservation: 0 once taken, or, when none is
   * free by `deadline`, how long after it the next window opens.
   */
  async function takeOne(deadline = Infinity): Promise<number> {
    while (!closed) {
      const mine = Math.floor(now() / BUDGET_WINDOW_MS);
      if (held.w >= mine && held.n > 0) {
        held.n--;
        count(held.w);
        return 0;
      }
      if (now() > deadline) return BUDGET_WINDOW_MS;
      const { w, got } = await reserve(Math.min(chunk, Math.max(waiting, paceLeft(mine))));
      if (got > 0) {
        held = { w, n: got - 1 };
        count(w);
        return 0;
      }
      // Spent: wait for the next window.
      const nextAt = (w + 1) * BUDGET_WINDOW_MS;
      if (nextAt > deadline) return nextAt - now();
      await new Promise((r) => setTimeout(r, Math.max(1, nextAt - now())));
    }
    return 0;
  }

  // One taker at a time in this process: a reservation is shared out before the next is made.
  let queue: Promise<unknown> = Promise.resolve();
  /** Takers queued or taking: how many requests a reservation has a use for. */
  let waiting = 0;
  function turn(deadline?: number): Promise<number> {
    waiting++;
    const mine = queue.then(() => takeOne(deadline)).finally(() => waiting--);
    queue = mine.catch(() => {});
    return mine;
  }
  return {
    perSecond: o.perSecond,
    async take() {
      await turn();
    },
    takeWithin(maxWaitMs) {
      return turn(now() + maxWaitMs);
    },
    async spare() {
      const mine = Math.floor(now() / BUDGET_WINDOW_MS);
      const seen = await read();
      const w = Math.max(mine, seen?.window.w ?? mine);
      const used = seen && seen.window.w === w ? seen.window.n : 0;
      // What this process reserved and has not spent yet is not spare: it was reserved for the
      // live calls of this window, at their pace. Per second, as the local budget counts it.
      return ((windowCap(w, o.perSecond) - used) * 1000) / BUDGET_WINDOW_MS;
    },
    close() {
      closed = true;
    },
  };
}
