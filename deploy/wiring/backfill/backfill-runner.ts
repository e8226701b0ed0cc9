// Runs backfills: every process with the worker role looks for running ones, takes a backfill's
// lock (one process at a time; a process that dies frees it with its connection), and advances it
// a page at a time, saving the cursor, counts and first decisions after each page. A pause or a
// cancel takes effect at the next page; a page that fails is retried with a growing wait, and
// after MAX_FAILURES in a row the backfill fails with the last error.
//
// Three sources: `stripe` walks the bound account's customers into the catalogue (stripe-import.ts);
// `postgres` offers catalogue customers missing a link to a target to their actors (resync.ts);
// `reconcile` compares the account with the catalogue and hands differences over (reconcile.ts).
// Either way the customer's actor does the rest, exactly as for a live change.
import type { Logger } from '../../../core/ports.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import {
  activeBackfill,
  addAmbiguity,
  DECISIONS_KEPT,
  getBackfill,
  recordError,
  runnableBackfills,
  savePage,
  transition,
  withBackfillLock,
  type Ambiguity,
  type Backfill,
  type BackfillOptions,
  type BackfillSource,
  type DecisionSample,
} from '../../../adapters/postgres/backfills.ts';
import { estimateCustomers, importPage, type ImportDeps } from './stripe-import.ts';
import { reconcilePage, reconciledTargets, type ReconcileDeps } from './reconcile.ts';
import { linkCount } from '../../../adapters/postgres/reconciliations.ts';
import type { Difference } from '../../../adapters/postgres/reconciliations.ts';
import type { Resync } from './resync.ts';

export interface BackfillSources {
  /** Without it (no Stripe key), a Stripe import fails at once, saying why. */
  readonly stripe?: ImportDeps;
  readonly postgres: Resync;
  /** Without it (no target configured), a reconciliation fails at once, saying why. */
  readonly reconcile?: ReconcileDeps;
  /** Waits until live changes leave room in the targets' budgets (the backfill goes after them). */
  readonly paced?: () => Promise<void>;
}

export interface BackfillRunnerOptions {
  readonly sql: Sql;
  readonly sources: BackfillSources;
  readonly log: Logger;
  /** How often to look for backfills to run (default 2 s). */
  readonly pollMs?: number;
  /** Told after each page saved. */
  readonly onPage?: (b: Backfill) => void;
  /** Told the differences each page of a reconciliation found. */
  readonly onDifferences?: (found: readonly Difference[]) => void;
  readonly now?: () => number;
}

export interface BackfillRunner {
  start(): void;
  /** Looks for backfills now rather than at the next poll. */
  kick(): void;
  /** Runs one backfill to its end (or pause) here; false when another process holds it. */
  run(id: number): Promise<boolean>;
  stop(): Promise<void>;
}

export interface DryRun {
  readonly dry_run: true;
  readonly source: BackfillSource;
  readonly scanned: number;
  readonly counts: Record<string, number>;
  readonly decisions: DecisionSample[];
  readonly ambiguities: number;
}

const MAX_FAILURES = 8;
const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/** One page of either source, in one shape. */
interface Page {
  readonly cursor: string | null;
  readonly more: boolean;
  readonly decisions: readonly DecisionSample[];
  readonly ambiguities: readonly Ambiguity[];
  readonly differences?: readonly Difference[];
}

async function pageOf(
  sources: BackfillSources,
  b: Pick<Backfill, 'id' | 'source'>,
  cursor: string | null,
  options: BackfillOptions,
  dryRun: boolean,
): Promise<Page> {
  const { source } = b;
  if (source === 'postgres') {
    const page = await sources.postgres.page(cursor, {
      dryRun,
      ...(sources.paced ? { paced: sources.paced } : {}),
    });
    return { ...page, ambiguities: [] };
  }
  if (source === 'reconcile') {
    if (dryRun) throw new Error('a reconciliation has no dry run: it writes nothing itself');
    if (!sources.reconcile)
      throw new Error('no target is configured: there is nothing to reconcile');
    const deps = { ...sources.reconcile, ...(sources.paced ? { paced: sources.paced } : {}) };
    return { ...(await reconcilePage(deps, b.id, cursor)), ambiguities: [] };
  }
  if (!sources.stripe)
    throw new Error('no STRIPE_SECRET_KEY: there is no Stripe account to import');
  return importPage(
    { ...sources.stripe, ...(sources.paced ? { paced: sources.paced } : {}) },
    cursor,
    {
      dryRun,
      adoptOrphans: options.adopt_orphans === true,
      writeBack: options.write_back === true,
      invoices: options.objects?.includes('invoice') === true,
    },
  );
}

async function estimate(sources: BackfillSources, source: BackfillSource): Promise<number | null> {
  if (source === 'postgres') return sources.postgres.count();
  // A reconciliation's size is what it compares: the links of each target it reads (no call).
  if (source === 'reconcile')
    return sources.reconcile
      ? linkCount(sources.reconcile.sql, reconciledTargets(sources.reconcile))
      : null;
  return sources.stripe ? estimateCustomers(sources.stripe.stripe) : null;
}

async function backfillRunning(sql: Sql): Promise<boolean> {
  return (
    (await activeBackfill(sql, 'stripe'))?.state === 'running' ||
    (await activeBackfill(sql, 'postgres'))?.state === 'running'
  );
}

function tally(counts: Record<string, number>, decisions: readonly DecisionSample[]) {
  for (const d of decisions) counts[d.decision] = (counts[d.decision] ?? 0) + 1;
}

/** Decides every page as a real run would, and writes nothing: no row, no message, no call. */
export async function dryRunBackfill(
  sources: BackfillSources,
  source: BackfillSource,
  options: BackfillOptions,
  onPage?: (scanned: number) => void,
): Promise<DryRun> {
  const counts: Record<string, number> = {};
  const decisions: DecisionSample[] = [];
  let scanned = 0;
  let ambiguities = 0;
  for (let cursor: string | null = null; ;) {
    const page = await pageOf(sources, { id: 0, source }, cursor, options, true);
    tally(counts, page.decisions);
    decisions.push(...page.decisions.slice(0, DECISIONS_KEPT - decisions.length));
    scanned += page.decisions.length;
    ambiguities += page.ambiguities.length;
    onPage?.(scanned);
    if (!page.more) break;
    cursor = page.cursor;
  }
  return { dry_run: true, source, scanned, counts, decisions, ambiguities };
}

export function backfillRunner(o: BackfillRunnerOptions): BackfillRunner {
  const log = o.log.child({ component: 'backfills' });
  const now = o.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let looking: Promise<void> = Promise.resolve();
  const running = new Set<number>();

  async function advance(id: number, held: () => Promise<boolean>): Promise<void> {
    let b = await getBackfill(o.sql, id);
    if (!b || b.state !== 'running') return;
    log.info({ backfill: id, source: b.source, scanned: b.scanned }, 'backfill running');
    const counts: Record<string, number> = { ...b.counts };
    const decisions: DecisionSample[] = [...b.decisions];
    let { cursor, scanned, runningMs } = b;
    let totalEstimate = b.totalEstimate;
    let failures = 0;
    while (!stopped) {
      // A reconciliation goes below backfills in the budget: it waits while one runs.
      if (b.source === 'reconcile' && (await backfillRunning(o.sql))) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      // Once a page, right before it: a run that lost its lock must not take one more.
      if (!(await held())) {
        log.warn(
          { backfill: id, scanned },
          'backfill lost its lock with its database session; stopping here, it resumes from its last saved page',
        );
        return;
      }
      const began = now();
      let page: Page;
      try {
        if (totalEstimate === null) totalEstimate = await estimate(o.sources, b.source);
        page = await pageOf(o.sources, b, cursor, b.options, false);
      } catch (err) {
        failures++;
        const reason = err instanceof Error ? err.message : String(err);
        await recordError(o.sql, id, reason);
        if (failures >= MAX_FAILURES) {
          await transition(o.sql, id, ['running', 'paused'], 'failed', reason);
          log.error(
            { backfill: id, reason, failures },
            'backfill failed; start a new one to retry',
          );
          return;
        }
        const waitMs = RETRY_MS[Math.min(failures - 1, RETRY_MS.length - 1)]!;
        log.warn({ backfill: id, reason, retryInMs: waitMs }, 'backfill page failed; retrying');
        for (const end = now() + waitMs; !stopped && now() < end;)
          await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      failures = 0;
      for (const a of page.ambiguities) await addAmbiguity(o.sql, id, a);
      tally(counts, page.decisions);
      decisions.push(...page.decisions.slice(0, DECISIONS_KEPT - decisions.length));
      scanned += page.decisions.length;
      cursor = page.cursor;
      runningMs += now() - began;
      const saved = await savePage(o.sql, {
        id,
        cursor,
        scanned,
        counts,
        runningMs,
        decisions,
        totalEstimate: page.more ? totalEstimate : scanned,
      });
      if (saved) o.onPage?.(saved);
      if (page.differences) o.onDifferences?.(page.differences);
      if (saved?.state !== 'running') {
        log.info({ backfill: id, state: saved?.state ?? 'cancelled', scanned }, 'backfill stopped');
        return;
      }
      if (!page.more) {
        b = (await transition(o.sql, id, ['running'], 'done')) ?? b;
        log.info({ backfill: id, scanned, counts }, 'backfill done');
        o.onPage?.(b);
        return;
      }
    }
  }

  async function run(id: number): Promise<boolean> {
    if (running.has(id)) return true;
    running.add(id);
    try {
      return await withBackfillLock(o.sql, id, (held) => advance(id, held));
    } finally {
      running.delete(id);
    }
  }

  const look = () => {
    looking = (async () => {
      const ids = await runnableBackfills(o.sql);
      // Each in the background: a long import must not hold up an export.
      for (const id of ids)
        if (!running.has(id))
          void run(id).catch((err: unknown) =>
            log.warn({ backfill: id, err: String(err) }, 'backfill could not run; will retry'),
          );
    })().catch((err: unknown) => log.warn({ err: String(err) }, 'looking for backfills failed'));
  };

  return {
    start() {
      look();
      timer = setInterval(look, o.pollMs ?? 2_000);
      timer.unref();
    },
    kick: look,
    run,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await looking;
      // A page in progress finishes and is saved; the lock goes with it.
      while (running.size > 0) await new Promise((r) => setTimeout(r, 50));
    },
  };
}
