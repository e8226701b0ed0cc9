// Backfills (imports from Stripe, exports from the catalogue) as rows an operator creates, reads,
// pauses, resumes and cancels, and a runner advances page by page. Progress is saved after each
// page with the cursor, so a restart or another process resumes where the last page ended; a
// session advisory lock makes one process at a time run a backfill.
import { ConflictError } from '../../core/errors.ts';
import type { Sql } from './connect.ts';

/** What `POST /backfills` starts: an import from Stripe, an export from the catalogue. */
export const BACKFILL_SOURCES = ['stripe', 'postgres'] as const;
/** A reconciliation is a backfill too, started by `POST /reconciliations` or on a schedule. */
export type BackfillSource = (typeof BACKFILL_SOURCES)[number] | 'reconcile';
export const BACKFILL_STATES = ['running', 'paused', 'done', 'failed', 'cancelled'] as const;
export type BackfillState = (typeof BACKFILL_STATES)[number];

export interface BackfillOptions {
  /** Import: also insert Stripe customers whose `metadata.rtws_id` names no catalogue customer. */
  readonly adopt_orphans?: boolean;
  /** Import: write `metadata.rtws_id` onto each inserted customer now (one call each). */
  readonly write_back?: boolean;
  /** Import: the Stripe objects to walk (customers always). */
  readonly objects?: readonly ('customer' | 'invoice')[];
  /** Export: the targets it offers customers to. */
  readonly targets?: readonly string[];
}

/** One customer's decision, kept for the first ones of a backfill. */
export interface DecisionSample {
  readonly id: string;
  readonly decision: string;
  readonly reason: string;
}

export interface Backfill {
  readonly id: number;
  readonly source: BackfillSource;
  readonly state: BackfillState;
  readonly options: BackfillOptions;
  readonly cursor: string | null;
  readonly scanned: number;
  readonly totalEstimate: number | null;
  readonly counts: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly error: string | null;
  /** Time spent running (pauses excluded), for the rate. */
  readonly runningMs: number;
  readonly decisions: readonly DecisionSample[];
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  readonly updatedAt: Date;
}

/**
 * Records per second while running (pauses excluded), and the seconds still needed at that rate:
 * null where the size or the rate is not known yet, 0 once done.
 */
export function progressOf(b: Backfill): { ratePerS: number | null; etaS: number | null } {
  const rate = b.runningMs > 0 ? b.scanned / (b.runningMs / 1000) : null;
  const left = b.totalEstimate === null ? null : Math.max(0, b.totalEstimate - b.scanned);
  const etaS =
    b.state === 'done'
      ? 0
      : left !== null && rate !== null && rate > 0 && b.state === 'running'
        ? Math.ceil(left / rate)
        : null;
  return { ratePerS: rate === null ? null : Math.round(rate * 10) / 10, etaS };
}

/** How many decisions a backfill keeps, for an operator to read why. */
export const DECISIONS_KEPT = 100;

export class BackfillActiveError extends ConflictError {
  constructor(readonly active: Backfill) {
    super(`backfill ${active.id} of source ${active.source} is ${active.state}; one at a time`);
  }
}

interface Row {
  id: string;
  source: BackfillSource;
  state: BackfillState;
  options: BackfillOptions;
  cursor: string | null;
  scanned: number;
  total_estimate: number | null;
  counts: Record<string, number>;
  errors: number;
  error: string | null;
  running_ms: string;
  decisions: DecisionSample[];
  started_at: Date;
  ended_at: Date | null;
  updated_at: Date;
}

const toBackfill = (r: Row): Backfill => ({
  id: Number(r.id),
  source: r.source,
  state: r.state,
  options: r.options,
  cursor: r.cursor,
  scanned: r.scanned,
  totalEstimate: r.total_estimate,
  counts: r.counts,
  errors: r.errors,
  error: r.error,
  runningMs: Number(r.running_ms),
  decisions: r.decisions,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  updatedAt: r.updated_at,
});

/** Starts a backfill; throws BackfillActiveError naming the one of this source still active. */
export async function createBackfill(
  sql: Sql,
  source: BackfillSource,
  options: BackfillOptions,
): Promise<Backfill> {
  const [row] = await sql<Row[]>`
    INSERT INTO backfills (source, state, options) VALUES (${source}, 'running', ${sql.json(options as never)})
    ON CONFLICT (source) WHERE state IN ('running', 'paused') DO NOTHING
    RETURNING *`;
  if (row) return toBackfill(row);
  const active = await activeBackfill(sql, source);
  // Finished between the insert and the read: try once more.
  if (!active) return createBackfill(sql, source, options);
  throw new BackfillActiveError(active);
}

export async function activeBackfill(
  sql: Sql,
  source: BackfillSource,
): Promise<Backfill | undefined> {
  const [row] = await sql<Row[]>`
    SELECT * FROM backfills WHERE source = ${source} AND state IN ('running', 'paused')`;
  return row ? toBackfill(row) : undefined;
}

export async function getBackfill(sql: Sql, id: number): Promise<Backfill | undefined> {
  const [row] = await sql<Row[]>`SELECT * FROM backfills WHERE id = ${id}`;
  return row ? toBackfill(row) : undefined;
}

/** Newest first. */
export async function listBackfills(sql: Sql, limit: number): Promise<Backfill[]> {
  const rows = await sql<Row[]>`SELECT * FROM backfills ORDER BY id DESC LIMIT ${limit}`;
  return rows.map(toBackfill);
}

/** The newest backfill of a source, whatever its state. */
export async function latestBackfill(
  sql: Sql,
  source: BackfillSource,
): Promise<Backfill | undefined> {
  const [row] = await sql<Row[]>`
    SELECT * FROM backfills WHERE source = ${source} ORDER BY id DESC LIMIT 1`;
  return row ? toBackfill(row) : undefined;
}

/** The newest backfill of each source. */
export async function latestBackfills(sql: Sql): Promise<Backfill[]> {
  const rows = await sql<Row[]>`
    SELECT DISTINCT ON (source) * FROM backfills ORDER BY source, id DESC`;
  return rows.map(toBackfill);
}

/** Backfills waiting for a runner. */
export async function runnableBackfills(sql: Sql): Promise<number[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM backfills WHERE state = 'running' ORDER BY id`;
  return rows.map((r) => Number(r.id));
}

/**
 * Moves a backfill from one of `from` to `to`; resolves to undefined when it is in another state
 * (or does not exist), and changes nothing then.
 */
export async function transition(
  sql: Sql,
  id: number,
  from: readonly BackfillState[],
  to: BackfillState,
  error?: string,
): Promise<Backfill | undefined> {
  const ends = to === 'done' || to === 'failed' || to === 'cancelled';
  const [row] = await sql<Row[]>`
    UPDATE backfills
    SET state = ${to}, updated_at = now(),
        ended_at = CASE WHEN ${ends} THEN now() ELSE NULL END,
        error = coalesce(${error ?? null}, error)
    WHERE id = ${id} AND state = ANY(${sql.array([...from])})
    RETURNING *`;
  return row ? toBackfill(row) : undefined;
}

export interface PageProgress {
  readonly id: number;
  readonly cursor: string | null;
  readonly scanned: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly runningMs: number;
  readonly decisions: readonly DecisionSample[];
  readonly totalEstimate?: number | null;
}

/**
 * Saves a page's progress, unless the backfill has ended meanwhile (cancelled): resolves to the
 * backfill as saved (its state may be paused now), or undefined when nothing was written.
 */
export async function savePage(sql: Sql, p: PageProgress): Promise<Backfill | undefined> {
  const [row] = await sql<Row[]>`
    UPDATE backfills
    SET cursor = ${p.cursor}, scanned = ${p.scanned}, counts = ${sql.json(p.counts)},
        running_ms = ${p.runningMs}, decisions = ${sql.json(p.decisions.slice(0, DECISIONS_KEPT) as never)},
        total_estimate = coalesce(${p.totalEstimate ?? null}, total_estimate), updated_at = now()
    WHERE id = ${p.id} AND state IN ('running', 'paused')
    RETURNING *`;
  return row ? toBackfill(row) : undefined;
}

/** A failed page: counted and kept as the last error, the backfill still running. */
export async function recordError(sql: Sql, id: number, error: string): Promise<void> {
  await sql`
    UPDATE backfills SET errors = errors + 1, error = ${error}, updated_at = now() WHERE id = ${id}`;
}

export interface Ambiguity {
  readonly stripeId: string;
  readonly email: string | null;
  readonly customers: readonly string[];
  readonly stripeIds: readonly string[];
}

export async function addAmbiguity(sql: Sql, backfillId: number, a: Ambiguity): Promise<void> {
  await sql`
    INSERT INTO backfill_ambiguities (backfill_id, stripe_id, email, customers, stripe_ids)
    VALUES (${backfillId}, ${a.stripeId}, ${a.email}, ${sql.array([...a.customers])}::uuid[],
            ${sql.array([...a.stripeIds])})
    ON CONFLICT (backfill_id, stripe_id) DO NOTHING`;
}

/** A page of a backfill's ambiguous cases, by Stripe id, after the Stripe id `after`. */
export async function ambiguitiesOf(
  sql: Sql,
  backfillId: number,
  limit: number,
  after?: string,
): Promise<(Ambiguity & { foundAt: Date })[]> {
  const rows = await sql<
    {
      stripe_id: string;
      email: string | null;
      customers: string[];
      stripe_ids: string[];
      found_at: Date;
    }[]
  >`
    SELECT stripe_id, email, customers, stripe_ids, found_at FROM backfill_ambiguities
    WHERE backfill_id = ${backfillId} AND stripe_id > ${after ?? ''}
    ORDER BY stripe_id LIMIT ${limit}`;
  return rows.map((r) => ({
    stripeId: r.stripe_id,
    email: r.email,
    customers: r.customers,
    stripeIds: r.stripe_ids,
    foundAt: r.found_at,
  }));
}

/**
 * Runs `run` while holding the backfill's lock, on a connection of its own: another process
 * holding it makes this resolve to false at once. A process that dies loses the lock with its
 * connection, so another one resumes the backfill. So does a cut session (a failover, a
 * `pg_terminate_backend`) while the process lives on: `held` then answers false, and `run` should
 * stop rather than go on beside the process that takes the backfill over.
 */
export async function withBackfillLock(
  sql: Sql,
  id: number,
  run: (held: () => Promise<boolean>) => Promise<void>,
): Promise<boolean> {
  const key = `rtws:backfill:${id}`;
  const session = await sql.reserve();
  try {
    const [row] = await session<{ locked: boolean; pid: number }[]>`
      SELECT pg_try_advisory_lock(hashtext(${key})) AS locked, pg_backend_pid() AS pid`;
    if (!row?.locked) return false;
    const held = async () => {
      const me = await session<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`.catch(() => []);
      return me[0]?.pid === row.pid;
    };
    try {
      await run(held);
    } finally {
      await session`SELECT pg_advisory_unlock(hashtext(${key}))`.catch(() => {});
    }
    return true;
  } finally {
    session.release();
  }
}
