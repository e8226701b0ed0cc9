// Erasures in Postgres: the request (a tombstone at once), the open ones the workers carry out, and
// the last step, which clears the catalogue's copies of the customer's personal data and records
// what was done. No row here holds personal data: ids, a token's name, counts and hashes.
import { createHash } from 'node:crypto';
import type { Sql, Tx } from './connect.ts';
import { ERASED_REQUEST } from './idempotency.ts';
import { VOID_IDEMPOTENCY_SCOPE as VOID_SCOPE } from './invoice-void.ts';

export interface Erasure {
  readonly id: string;
  readonly customerId: string;
  readonly requestedAt: Date;
  readonly requestedBy: string;
  readonly remote: boolean;
  readonly finishedAt: Date | null;
  readonly removed: Record<string, unknown>;
  readonly lastError: string | null;
  /** It began (`beginErasure`): the links are gone, and the actor is waited for no longer. */
  readonly begun: boolean;
}

interface ErasureRow {
  id: string;
  customer_id: string;
  requested_at: Date;
  requested_by: string;
  remote: boolean;
  finished_at: Date | null;
  removed: Record<string, unknown>;
  last_error: string | null;
  begun: boolean;
}

const COLUMNS =
  'id, customer_id, requested_at, requested_by, remote, finished_at, removed, last_error, ' +
  'external_ids IS NOT NULL AS begun';

function toErasure(r: ErasureRow): Erasure {
  return {
    id: r.id,
    customerId: r.customer_id,
    requestedAt: r.requested_at,
    requestedBy: r.requested_by,
    remote: r.remote,
    finishedAt: r.finished_at,
    removed: r.removed,
    lastError: r.last_error,
    begun: r.begun,
  };
}

/** The hash an erased customer's external id is kept as: enough to know it again, nothing more. */
export function externalIdHash(target: string, externalId: string): string {
  return createHash('sha256').update(`${target}:${externalId}`).digest('hex');
}

/**
 * Records an erasure and deletes the customer (a tombstone, in the same transaction). With `remote`
 * the deletion is captured like any other, so the actor deletes the customer at its targets first;
 * without, it is not captured (origin `erasure_local`) and the targets are left alone. A customer
 * erased or being erased already answers with that erasure. Undefined: no such customer.
 */
export async function requestErasure(
  sql: Sql,
  r: { customerId: string; requestedBy: string; remote: boolean },
): Promise<{ erasure: Erasure; created: boolean } | undefined> {
  return sql.begin(async (tx) => {
    const [customer] = await tx<{ deleted_at: Date | null }[]>`
      SELECT deleted_at FROM customers WHERE id = ${r.customerId} FOR UPDATE`;
    if (!customer) return undefined;
    const [existing] = await tx<ErasureRow[]>`
      SELECT ${tx.unsafe(COLUMNS)} FROM erasures WHERE customer_id = ${r.customerId}`;
    if (existing) return { erasure: toErasure(existing), created: false };
    const [row] = await tx<ErasureRow[]>`
      INSERT INTO erasures (customer_id, requested_by, remote)
      VALUES (${r.customerId}, ${r.requestedBy}, ${r.remote})
      RETURNING ${tx.unsafe(COLUMNS)}`;
    if (customer.deleted_at === null) {
      await tx`SELECT set_config('rtws.origin', ${r.remote ? 'erasure' : 'erasure_local'}, true)`;
      await tx`UPDATE customers SET deleted_at = now() WHERE id = ${r.customerId}`;
    }
    return { erasure: toErasure(row!), created: true };
  });
}

export async function erasureById(sql: Sql, id: string): Promise<Erasure | undefined> {
  const [row] = await sql<
    ErasureRow[]
  >`SELECT ${sql.unsafe(COLUMNS)} FROM erasures WHERE id = ${id}`;
  return row ? toErasure(row) : undefined;
}

export async function erasureOfCustomer(
  sql: Sql,
  customerId: string,
): Promise<Erasure | undefined> {
  const [row] = await sql<ErasureRow[]>`
    SELECT ${sql.unsafe(COLUMNS)} FROM erasures WHERE customer_id = ${customerId}`;
  return row ? toErasure(row) : undefined;
}

/**
 * Erasures not finished yet, oldest first, a page at a time: `after`, the last of the page before.
 * Every page is read each round, so erasures that wait (a paused target) never hide newer ones.
 */
export async function openErasures(
  sql: Sql,
  limit = 100,
  after?: Pick<Erasure, 'id'>,
): Promise<Erasure[]> {
  // The cursor's time is read in SQL: a JavaScript Date would drop its microseconds.
  const rows = await sql<ErasureRow[]>`
    SELECT ${sql.unsafe(COLUMNS)} FROM erasures
    WHERE finished_at IS NULL
      ${
        after
          ? sql`AND (requested_at, id) > (SELECT requested_at, id FROM erasures WHERE id = ${after.id})`
          : sql``
      }
    ORDER BY requested_at, id LIMIT ${limit}`;
  return rows.map(toErasure);
}

/** Every open erasure, page by page, oldest first. */
export async function* allOpenErasures(sql: Sql, pageSize = 100): AsyncGenerator<Erasure> {
  let after: Erasure | undefined;
  for (;;) {
    const page = await openErasures(sql, pageSize, after);
    yield* page;
    if (page.length < pageSize) return;
    after = page.at(-1);
  }
}

/**
 * Customers whose actor calls no target again: an erasure of theirs is open and has begun (its
 * deletes are done and its links gone), or keeps the targets (nothing decided before it is sent
 * after it). A resume after a restart or a takeover leaves their pending intents unsent.
 */
export async function customersCallingNoMore(sql: Sql): Promise<ReadonlySet<string>> {
  const rows = await sql<{ customer_id: string }[]>`
    SELECT customer_id FROM erasures
    WHERE finished_at IS NULL AND (external_ids IS NOT NULL OR NOT remote)`;
  return new Set(rows.map((r) => r.customer_id));
}

/** Why the last round failed: the error's name and code only, as a message may quote values. */
/** What a waiting erasure waits for, written only when it changes. */
export async function noteErasureWait(sql: Sql, e: Erasure, waiting: string): Promise<void> {
  if (e.lastError === waiting) return;
  await sql`UPDATE erasures SET last_error = ${waiting} WHERE id = ${e.id}`;
}

export async function noteErasureError(sql: Sql, id: string, err: unknown): Promise<void> {
  const e = err as { name?: string; code?: string };
  const error = [e.name ?? 'Error', e.code].filter(Boolean).join(' ');
  await sql`UPDATE erasures SET last_error = ${error} WHERE id = ${id}`;
}

/** The customer's links (current and archived) by target, and its invoices' ids. */
export async function erasureSubjects(
  sql: Tx,
  customerId: string,
): Promise<{ externalIds: Record<string, string[]>; invoiceIds: string[] }> {
  const links = await sql<{ target: string; external_id: string }[]>`
    SELECT target, external_id FROM customer_links WHERE customer_id = ${customerId}
    UNION
    SELECT target, external_id FROM customer_links_archive WHERE customer_id = ${customerId}`;
  const invoices = await sql<{ id: string }[]>`
    SELECT id FROM invoices WHERE customer_id = ${customerId}`;
  const externalIds: Record<string, string[]> = {};
  for (const l of links) (externalIds[l.target] ??= []).push(l.external_id);
  return { externalIds, invoiceIds: invoices.map((i) => i.id) };
}

/**
 * Removes whatever of the customer's is still waiting in the outbox: the purge of the streams comes
 * after, and nothing may publish the data again once it ran. Waits for a publisher holding a row.
 */
export async function dropPendingOutbox(sql: Sql, customerId: string): Promise<number> {
  const gone = await sql`DELETE FROM outbox WHERE customer_id = ${customerId} RETURNING id`;
  return gone.length;
}

export interface BegunErasure {
  readonly externalIds: Record<string, string[]>;
  readonly invoiceIds: string[];
  /** What the erasure recorded when it began (what became of each target's object). */
  readonly removed: Record<string, unknown>;
  /**
   * Resumed: the links made after it began (by calls that should not have been made), by target.
   * Their objects are left at the targets, with the person's data: they are counted in
   * `removed.late_links`, and the worker logs their ids for an operator to delete them.
   */
  readonly late: Record<string, string[]>;
}

/**
 * Before any stream is touched, in one transaction: the external ids are known as erased (their
 * hashes), and the links go, so that from now on every event about them is dropped where it is
 * mapped rather than stored again; the ids themselves are kept on the erasure until it finishes, so
 * that a resumed one still finds their messages; `removed` starts with the targets' fates. Begun
 * already (a resume): what it recorded then.
 */
export async function beginErasure(
  sql: Sql,
  erasure: Pick<Erasure, 'id' | 'customerId'>,
  targets: Record<string, string>,
): Promise<BegunErasure> {
  return sql.begin(async (tx) => {
    const id = erasure.customerId;
    const [row] = await tx<
      { external_ids: Record<string, string[]> | null; removed: Record<string, unknown> }[]
    >`
      SELECT external_ids, removed FROM erasures WHERE id = ${erasure.id} FOR UPDATE`;
    const invoices = await tx<{ id: string }[]>`
      SELECT id FROM invoices WHERE customer_id = ${id}`;
    const invoiceIds = invoices.map((i) => i.id);
    // The links as they go: read by their delete, so that one committed meanwhile goes with them.
    const gone = await tx<{ target: string; external_id: string; archived: boolean }[]>`
      WITH current AS (
        DELETE FROM customer_links WHERE customer_id = ${id} RETURNING target, external_id
      ), archived AS (
        DELETE FROM customer_links_archive WHERE customer_id = ${id} RETURNING target, external_id
      )
      SELECT target, external_id, false AS archived FROM current
      UNION ALL SELECT target, external_id, true FROM archived`;
    const unlinked = byTarget(gone);
    // Resumed: links made since it began (a call its actor made after a crash cut the erasure
    // off) are erased with the rest: known as erased, and their messages purged.
    const recorded = row?.external_ids ?? undefined;
    if (recorded && gone.length === 0)
      return { externalIds: recorded, invoiceIds, removed: row!.removed, late: {} };
    const externalIds = recorded ? unionOf(recorded, unlinked) : unlinked;
    const late = recorded ? notIn(unlinked, recorded) : {};
    for (const [target, ids] of Object.entries(unlinked))
      for (const externalId of ids)
        await tx`
          INSERT INTO erased_externals (target, id_hash, erasure_id)
          VALUES (${target}, ${externalIdHash(target, externalId)}, ${erasure.id})
          ON CONFLICT DO NOTHING`;
    const lateCount = countOf(late);
    const removed = recorded
      ? {
          ...row!.removed,
          // Counted only: the record keeps no target's id once it ends (the log names them).
          ...(lateCount > 0
            ? { late_links: ((row!.removed.late_links as number | undefined) ?? 0) + lateCount }
            : {}),
        }
      : {
          targets,
          links: {
            current: gone.filter((l) => !l.archived).length,
            archived: gone.filter((l) => l.archived).length,
          },
        };
    await tx`
      UPDATE erasures SET external_ids = ${tx.json(externalIds)}, removed = ${tx.json(removed)}
      WHERE id = ${erasure.id}`;
    return { externalIds, invoiceIds, removed, late };
  });
}

function byTarget(links: readonly { target: string; external_id: string }[]) {
  const ids: Record<string, string[]> = {};
  for (const l of links) (ids[l.target] ??= []).push(l.external_id);
  return unionOf(ids, {});
}

function unionOf(
  a: Record<string, string[]>,
  b: Record<string, string[]>,
): Record<string, string[]> {
  const union: Record<string, string[]> = {};
  for (const [target, ids] of [...Object.entries(a), ...Object.entries(b)])
    union[target] = [...new Set([...(union[target] ?? []), ...ids])];
  return union;
}

const countOf = (ids: Record<string, string[]>) =>
  Object.values(ids).reduce((n, list) => n + list.length, 0);

/** The ids of `a` that `b` does not hold, by target (targets without any left out). */
function notIn(a: Record<string, string[]>, b: Record<string, string[]>): Record<string, string[]> {
  const left: Record<string, string[]> = {};
  for (const [target, ids] of Object.entries(a)) {
    const fresh = ids.filter((i) => !(b[target] ?? []).includes(i));
    if (fresh.length > 0) left[target] = fresh;
  }
  return left;
}

/**
 * The last step, in one transaction: the row keeps its id, its tombstone and `erased_at`; every
 * other copy of the customer's data in the catalogue's tables goes; the external ids kept while it
 * ran go too (their hashes stay); the erasure is finished with what was removed where.
 */
export async function finishErasure(
  sql: Sql,
  erasure: Pick<Erasure, 'id' | 'customerId'>,
  removed: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ external_ids: Record<string, string[]> | null }[]>`
      SELECT external_ids FROM erasures WHERE id = ${erasure.id} FOR UPDATE`;
    const externalIds = Object.values(row?.external_ids ?? {}).flat();
    const postgres = await clearCatalogue(tx, erasure.customerId, externalIds);
    const all = { ...removed, postgres };
    await tx`
      UPDATE erasures SET finished_at = now(), removed = ${tx.json(all)},
        external_ids = NULL, last_error = NULL
      WHERE id = ${erasure.id}`;
    return all;
  });
}

/** What a discarded letter's reason becomes once its customer is erased. */
const ERASED_REASON = '(erased with its customer)';

async function clearCatalogue(
  tx: Tx,
  id: string,
  externalIds: string[],
): Promise<Record<string, number>> {
  const count = async (q: PromiseLike<{ count: number }>) => (await q).count;
  await tx`SELECT set_config('rtws.origin', 'erasure', true)`;
  return {
    customer: await count(tx`
      UPDATE customers SET name = '', email = NULL, phone = NULL, address = NULL,
        metadata = '{}'::jsonb, erased_at = coalesce(erased_at, now())
      WHERE id = ${id} RETURNING id`),
    outbox: await count(tx`DELETE FROM outbox WHERE customer_id = ${id} RETURNING id`),
    links: await count(tx`DELETE FROM customer_links WHERE customer_id = ${id} RETURNING target`),
    archived_links: await count(
      tx`DELETE FROM customer_links_archive WHERE customer_id = ${id} RETURNING target`,
    ),
    conflicts: await count(tx`DELETE FROM conflicts WHERE customer_id = ${id} RETURNING id`),
    inbox: await count(tx`DELETE FROM inbox WHERE customer_id = ${id} RETURNING event_id`),
    // A client's retry of a create or an edit replays the first answer, which holds the customer:
    // the answer goes, with the hash of the request's fields. The key stays (until its 24 h are
    // up), so that a retry is refused (410) instead of making the person again.
    idempotency_keys:
      (await count(tx`
        UPDATE idempotency_keys SET request_hash = ${ERASED_REQUEST}, status = NULL, body = NULL
        WHERE (body->>'id' = ${id} OR body->>'customer_id' = ${id}) AND scope <> ${VOID_SCOPE}
        RETURNING key`)) +
      // A void's retry replays or runs again as before: the invoice outlives the erasure, and a
      // second void changes nothing. Its answer names the customer, so it goes.
      (await count(tx`
        DELETE FROM idempotency_keys WHERE scope = ${VOID_SCOPE} AND body->>'customer_id' = ${id}
        RETURNING key`)),
    backfill_ambiguities: await count(tx`
      DELETE FROM backfill_ambiguities
      WHERE ${id}::uuid = ANY (customers) OR stripe_id = ANY (${externalIds}::text[])
      RETURNING stripe_id`),
    reconcile_differences: await count(tx`
      DELETE FROM reconcile_differences
      WHERE customer_id = ${id} OR external_id = ANY (${externalIds}::text[])
      RETURNING id`),
    // A discarded letter's reason may quote a target's message, values and all; the discard (who,
    // when, why) is the operator's record and stays. Its subject ends with the id of the customer
    // or of one of its invoices. (An inbound event's letter, whose subject names neither, is not
    // matched: the erasure's purge of the DLQ stream finds those by their payload.)
    dlq_discards: await count(tx`
      UPDATE dlq_discards SET letter_reason = ${ERASED_REASON}
      WHERE letter_reason <> ${ERASED_REASON}
        AND (subject LIKE ${`%.${id}`}
             OR subject LIKE ANY (SELECT '%.' || i.id FROM invoices i WHERE i.customer_id = ${id}))
      RETURNING id`),
  };
}

/** Whether an external object belonged to a customer since erased. */
export async function isErasedExternal(
  sql: Sql,
  target: string,
  externalId: string,
): Promise<boolean> {
  const [row] = await sql`
    SELECT 1 FROM erased_externals
    WHERE target = ${target} AND id_hash = ${externalIdHash(target, externalId)}`;
  return row !== undefined;
}

/** Which of `externalIds` belonged to customers since erased: one query for a page of them. */
export async function erasedExternals(
  sql: Sql,
  target: string,
  externalIds: readonly string[],
): Promise<Set<string>> {
  if (externalIds.length === 0) return new Set();
  const byHash = new Map(externalIds.map((id) => [externalIdHash(target, id), id]));
  const rows = await sql<{ id_hash: string }[]>`
    SELECT id_hash FROM erased_externals
    WHERE target = ${target} AND id_hash = ANY (${[...byHash.keys()]}::text[])`;
  return new Set(rows.map((r) => byHash.get(r.id_hash)!));
}

/**
 * Asks for the erasure of every customer deleted more than `days` ago and not erased yet
 * (RTWS_ERASE_DELETED_AFTER_DAYS), at most `limit` at a time. Returns how many were asked for.
 */
export async function eraseOldDeletions(
  sql: Sql,
  o: { days: number; remote: boolean; limit?: number },
): Promise<number> {
  const rows = await sql`
    INSERT INTO erasures (customer_id, requested_by, remote)
    SELECT c.id, 'schedule', ${o.remote} FROM customers c
    WHERE c.deleted_at < now() - make_interval(days => ${o.days}) AND c.erased_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.customer_id = c.id)
    LIMIT ${o.limit ?? 1000}
    ON CONFLICT (customer_id) DO NOTHING
    RETURNING id`;
  return rows.length;
}
