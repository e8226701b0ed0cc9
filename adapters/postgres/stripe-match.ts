// What the lookup before a Stripe create needs from the catalogue: a lock per email that holds
// across processes (customers with one email can sit on partitions of different workers), and the
// link table, so that a Stripe customer linked here but not yet marked in Stripe is not taken.
import pLimit from 'p-limit';
import type { Sql } from './connect.ts';
import { keyedMutex, pacer, type MatchSettings, type Serialise } from '../stripe/match.ts';

type Policy = Pick<MatchSettings, 'by' | 'merge'>;

/**
 * Lookups holding a Postgres connection at once, per process: each holds one through its Stripe
 * calls, and the pool also serves the actors' own reads and writes.
 */
const MATCH_CONNECTIONS = 3;

/** Stripe's search budget for the account, shared by every process (adapters/jetstream/kv-budget.ts). */
export interface SearchBudget {
  /** 0 once a lookup may go, or the wait it refused past `maxWaitMs` (nothing taken). */
  takeWithin(maxWaitMs: number): Promise<number>;
}

/**
 * Without `sql`, lookups are serialised within this process only. Without `shared`, they are paced
 * per process to `lookupsPerSecond`; with it, by every process together.
 */
export function matchSettings(
  policy: Policy,
  sql: Sql | undefined,
  options: { lockWaitMs: number; lookupsPerSecond: number; shared?: SearchBudget },
): MatchSettings {
  const local = keyedMutex();
  const shared = options.shared;
  const paceSearch = shared
    ? (maxWaitMs: number) => shared.takeWithin(maxWaitMs)
    : pacer(options.lookupsPerSecond);
  if (!sql) return { ...policy, serialise: local, paceSearch };
  const locked = advisoryLock(sql, options.lockWaitMs);
  return {
    ...policy,
    paceSearch,
    // In this process first, so that waiters for one email do not each hold a connection.
    serialise: (key, fn) => local(key, () => locked(key, fn)),
    linkOfCustomer: async (customerId) => {
      const [row] = await sql<{ external_id: string }[]>`
        SELECT external_id FROM customer_links WHERE customer_id = ${customerId} AND target = 'stripe'`;
      return row?.external_id;
    },
    linksOf: async (ids) => {
      if (ids.length === 0) return new Map<string, string>();
      const rows = await sql<{ external_id: string; customer_id: string }[]>`
        SELECT external_id, customer_id FROM customer_links
        WHERE target = 'stripe' AND external_id = ANY(${sql.array([...ids])})`;
      return new Map(rows.map((r) => [r.external_id, r.customer_id]));
    },
  };
}

/**
 * A transaction-scoped advisory lock, held through `fn`'s Stripe calls. A lock still taken after
 * `waitMs` fails the call, which is retried later. Should the commit fail once `fn` has run, `fn`'s
 * result stands: the lock was held while it ran, and its writes are Stripe's, not this
 * transaction's. Should the connection go while `fn` runs, postgres.js rejects the transaction at
 * once and the lock is gone, but `fn`'s calls go on: they are waited for, and their outcome is the
 * answer, so that nothing of `fn` runs on after this settles.
 */
export function advisoryLock(sql: Sql, waitMs: number): Serialise {
  const slots = pLimit(MATCH_CONNECTIONS);
  return <T>(key: string, fn: () => Promise<T>): Promise<T> =>
    slots(async () => {
      let running: Promise<T> | undefined;
      try {
        await sql.begin(async (tx) => {
          await tx`SELECT set_config('lock_timeout', ${`${waitMs}ms`}, true)`;
          await tx`SELECT pg_advisory_xact_lock(hashtext(${key}))`;
          running = fn();
          await running;
        });
      } catch (err) {
        // Not under the lock yet: the call fails. Once `fn` started, its outcome is the answer.
        if (!running) throw err;
      }
      return running!;
    });
}
