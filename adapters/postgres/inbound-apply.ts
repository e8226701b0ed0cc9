// Carries out a Postgres write the customer actor decided on a change seen in Stripe (or read from
// Salesforce). One transaction, with origin `stripe` (or `salesforce`), so the captured change
// reaches every other target and is not pushed back to where it came from. It records the write
// and its events in the inbox, so doing it again is a no-op, and the conflicts the merge settled.
// A field Postgres changed again since the merge decided is left alone, unless the other side's
// change is the later one: the later change wins.
//
// Its statements go in as few round trips as their dependencies allow. A plain insert is one
// statement (a SQL function, batched with others by insert-batches.ts); an update one, where the
// fields it sets still hold what the merge expected (`rtws_update_target`), or else two more:
// the row's read, then one statement that carries out what was decided on it if the row is still
// as read (the same function, given the version read); a delete, a restore's repair and an insert
// with conflicts are a transaction of two or three round trips besides BEGIN and COMMIT.
// postgres.js sends the queries awaited together (`Promise.all`) in one write, in the array's
// order, and Postgres runs them in that order. Each round trip costs a write and a wake-up on both
// sides, which is most of what a statement costs here. (A statement's first use on a connection
// still goes alone, to be described.)
import { createHash } from 'node:crypto';
import { PermanentApplyError } from '../../core/errors.ts';
import { writeTag, type CatalogueApply } from '../../actors/customer/index.ts';
import {
  canonicalAddress,
  canonicalEmail,
  canonicalFields,
  canonicalMetadata,
  canonicalString,
  fieldValue,
  ownValue,
  sameValue,
  setOwn,
  type CanonicalFields,
} from '../../core/canonical.ts';
import type { SyncedFields } from '../../core/customer.ts';
import { iso } from '../../core/policy/merge.ts';
import { applyPatch, omitFields, SCALAR_FIELDS, type FieldPatch } from '../../core/policy/push.ts';
import { TEXT_ARRAY, type Sql, type Tx } from './connect.ts';
import { setCorrelation } from './correlation.ts';

export interface ApplyResult {
  /** False when this write was carried out before: nothing was written. */
  applied: boolean;
  /** The customer's version afterwards; null when there is no such customer. */
  version: number | null;
  /** Fields left alone because Postgres changed them after the merge, with the values it holds. */
  kept: FieldPatch;
  /**
   * The write changed the row, so its change is captured with the write's tag, and reaches the
   * actor as the write's report (sql/024_write_tags.sql).
   */
  captured: boolean;
}

/** An insert with no conflict to record: one statement, alone or in a batch (insert-batches.ts). */
export function isPlainInsert(
  a: CatalogueApply,
): a is CatalogueApply & { kind: 'insert'; fields: CanonicalFields } {
  return a.kind === 'insert' && !!a.fields && a.conflicts.length === 0;
}

/** One write, whatever the actor's numbering: its id and the events it applies. */
export function writeKey(customerId: string, a: CatalogueApply): string {
  const events = createHash('sha256').update(a.eventIds.join('\n')).digest('hex').slice(0, 32);
  return `${customerId}:${a.id}:${events}`;
}

export async function applyFromStripe(
  sql: Sql,
  customerId: string,
  a: CatalogueApply,
): Promise<ApplyResult> {
  if (isPlainInsert(a)) return insertFromTarget(sql, customerId, a, a.fields);
  if (a.kind === 'update' && a.origin !== 'restore' && a.versionFloor === undefined) {
    const done = await updateFromTarget(sql, customerId, a);
    if (done) return done;
  }
  return sql.begin(async (tx) => {
    // The settings the capture trigger reads (the write's outbox row carries the change it serves,
    // the Stripe event's id, say), and the write's own inbox entry.
    // An update locks its row before the inbox entry, as `rtws_update_target` does: two
    // holders carrying out one write at once (a takeover's overlap) wait rather than deadlock.
    const locked =
      a.kind === 'update'
        ? [tx`SELECT 1 FROM customers WHERE id = ${customerId} AND deleted_at IS NULL FOR UPDATE`]
        : [];
    const first = tx`
      INSERT INTO inbox (source, event_id, customer_id) VALUES ('stripe-write', ${writeKey(customerId, a)}, ${customerId})
      ON CONFLICT DO NOTHING RETURNING event_id`;
    await Promise.all([
      ...locked,
      tx`SELECT set_config('rtws.origin', ${a.origin ?? 'stripe'}, true),
                set_config('rtws.write_id', ${writeTag(a)}, true),
                ${setCorrelation(tx, a.correlationId)}`,
      ...(a.versionFloor === undefined
        ? []
        : [tx`SELECT set_config('rtws.version_floor', ${String(a.versionFloor)}, true)`]),
      first,
    ]);
    if ((await first).length === 0)
      return {
        applied: false,
        version: versionOf(await versionQuery(tx, customerId)),
        kept: {},
        captured: false,
      };
    // A restore's repair answers no event. A change read from Salesforce is recorded as its own.
    const events =
      a.origin === 'restore'
        ? []
        : [
            tx`
              INSERT INTO inbox (source, event_id, customer_id)
              SELECT ${sideOf(a)}, e, ${customerId} FROM unnest(${tx.array(a.eventIds)}::text[]) AS e
              ON CONFLICT DO NOTHING`,
          ];
    let kept: FieldPatch = {};
    let writes: PendingQuery[] = events;
    // Whether the row changed, so that the capture trigger wrote the change: from the rows the
    // insert or the deletion touched, or the version the update's locked read saw.
    let captured: (version: number | null) => Promise<boolean> = () => Promise.resolve(false);
    switch (a.kind) {
      case 'insert':
        if (a.fields) {
          const inserted = insertBorn(tx, customerId, a, a.fields);
          writes = [...events, inserted];
          captured = async () => (await inserted).length > 0;
        }
        break;
      case 'update': {
        let read: number | null;
        ({ kept, writes, read } = await update(tx, customerId, a, events));
        captured = (after) => Promise.resolve(read !== null && after !== null && after > read);
        break;
      }
      case 'delete': {
        const deleted = tx`
          UPDATE customers SET deleted_at = now() WHERE id = ${customerId} AND deleted_at IS NULL
          RETURNING id`;
        writes = [...events, deleted];
        captured = async () => (await deleted).length > 0;
        break;
      }
    }
    const conflicts = mergedConflicts(a).map((c) => insertConflict(tx, customerId, c, 'keep'));
    const version = versionQuery(tx, customerId);
    await Promise.all([...writes, ...conflicts, version]);
    const after = versionOf(await version);
    return { applied: true, version: after, kept, captured: await captured(after) };
  });
}

/** The side a write's change came from: Salesforce's read, or Stripe (a restore counts as ours). */
export function sideOf(a: CatalogueApply): 'stripe' | 'salesforce' {
  return a.origin === 'salesforce' ? 'salesforce' : 'stripe';
}

/** A query not yet sent: made now, sent with the others of its round trip. */
type PendingQuery = PromiseLike<unknown>;

function versionQuery(tx: Tx, customerId: string) {
  return tx<{ version: string }[]>`SELECT version FROM customers WHERE id = ${customerId}`;
}

function versionOf(rows: readonly { version: string }[]): number | null {
  const [r] = rows;
  return r ? Number(r.version) : null;
}

/** The links an insert from a target records: to the Stripe customer, the Salesforce record. */
export function linksOf(a: Pick<CatalogueApply, 'stripeId' | 'salesforceId'>) {
  return [
    ...(a.stripeId !== '' ? [['stripe', a.stripeId] as const] : []),
    ...(a.salesforceId ? [['salesforce', a.salesforceId] as const] : []),
  ];
}

/**
 * A plain insert (no conflict to record), in one statement: `rtws_insert_from_target`
 * (sql/023_insert_from_target.sql) does what `applyFromStripe`'s statements do for it, in one
 * round trip rather than four.
 */
export async function insertFromTarget(
  sql: Sql,
  customerId: string,
  a: CatalogueApply,
  f: CanonicalFields,
): Promise<ApplyResult> {
  const links = linksOf(a);
  const [r] = await sql<{ was_applied: boolean; new_version: string | null; captured: boolean }[]>`
    SELECT was_applied, new_version, captured FROM rtws_insert_from_target(
      ${writeKey(customerId, a)}, ${customerId}, ${a.origin ?? 'stripe'},
      ${a.correlationId ?? null}, ${a.versionFloor ?? null},
      ${a.origin === 'restore' ? null : sideOf(a)}, ${sql.array(a.eventIds, TEXT_ARRAY)},
      ${f.name}, ${f.email}, ${f.phone}, ${f.address === null ? null : sql.json(f.address)},
      ${sql.json(f.metadata)},
      ${sql.array(
        links.map(([t]) => t),
        TEXT_ARRAY,
      )}, ${sql.array(
        links.map(([, id]) => id),
        TEXT_ARRAY,
      )}, ${writeTag(a)})`;
  return {
    applied: r!.was_applied,
    version: r!.new_version === null ? null : Number(r!.new_version),
    kept: {},
    captured: r!.captured,
  };
}

/**
 * Inserted once under the id derived from its Stripe id or Salesforce record id (or, for a
 * restore's repair, its own), and linked to it in the same statement: a customer that was there
 * already gets no link from here. Its rows: the customer inserted, or none. An external object
 * another customer is linked to refuses the insert (as `rtws_insert_from_target`, sql/035): the new
 * customer would be its second.
 */
async function insertBorn(
  tx: Tx,
  customerId: string,
  a: Pick<CatalogueApply, 'stripeId' | 'salesforceId'>,
  f: CanonicalFields,
): Promise<{ id: string }[]> {
  const links = linksOf(a);
  const [row] = await tx<{ id: string | null; linked: number }[]>`
    WITH inserted AS (
      INSERT INTO customers (id, name, email, phone, address, metadata)
      VALUES (${customerId}, ${f.name}, ${f.email}, ${f.phone},
              ${f.address === null ? null : tx.json(f.address)}, ${tx.json(f.metadata)})
      ON CONFLICT (id) DO NOTHING RETURNING id),
    linked AS (
      INSERT INTO customer_links (customer_id, target, external_id)
      SELECT inserted.id, l.target, l.external_id
      FROM inserted,
           unnest(${tx.array(links.map(([t]) => t))}::text[],
                  ${tx.array(links.map(([, id]) => id))}::text[]) AS l (target, external_id)
      ON CONFLICT DO NOTHING RETURNING 1)
    SELECT (SELECT id FROM inserted) AS id, (SELECT count(*)::int FROM linked) AS linked`;
  if (!row?.id) return [];
  if (row.linked < links.length)
    throw new PermanentApplyError(
      `the ${links.map(([t, id]) => `${t} object ${id}`).join(' or ')} is linked to another customer already: ${customerId} is not inserted as a second customer of it`,
    );
  return [{ id: row.id }];
}

/**
 * Only the fields Stripe changed and won. A field Postgres no longer holds as the merge saw it
 * changed in Postgres after the merge decided, in a change the actor had yet to see: it is judged
 * here by its own time (the row's `updated_at`, at or after it), never by the older one the merge
 * knew. The later change wins, and each such field is recorded as a conflict with both times.
 * A name is required here: the actor never asks to remove it.
 *
 * `before` goes with the row's read; the writes it decides are returned, to be sent with the rest,
 * with the version the locked read saw.
 */
async function update(
  tx: Tx,
  customerId: string,
  a: CatalogueApply,
  before: readonly PendingQuery[],
): Promise<{ kept: FieldPatch; writes: PendingQuery[]; read: number | null }> {
  const read = tx<ReadRow[]>`
    SELECT name, email, phone, address, metadata, updated_at, version FROM customers
    WHERE id = ${customerId} AND deleted_at IS NULL FOR UPDATE`;
  await Promise.all([...before, read]);
  const [row] = await read;
  if (!row) return { kept: {}, writes: [], read: null };
  const plan = planUpdate(a, row);
  return {
    kept: plan.kept,
    writes: [
      ...plan.moved.map((c) => insertConflict(tx, customerId, c, 'refresh')),
      setFields(tx, customerId, plan.patch),
    ],
    read: Number(row.version),
  };
}

/** The row as an update from a target reads it. */
type ReadRow = CurrentRow & { updated_at: Date; version: string };

/** What an update from a target writes on the row it read (see `update`). */
interface UpdatePlan {
  /** Fields left alone, with the values Postgres holds. */
  kept: FieldPatch;
  patch: FieldPatch;
  /** Fields Postgres changed after the merge decided, as conflicts to record. */
  moved: ConflictRow[];
}

function planUpdate(a: CatalogueApply, row: ReadRow): UpdatePlan {
  const current = canonicalFields(row);
  const checked = stillExpected(current, a.patch, a.expected);
  // A restore's repair brings back what rtws knew: a field edited since is newer, and stays.
  if (a.origin === 'restore')
    return { kept: valuesOf(current, checked.skipped), patch: checked.patch, moved: [] };
  const postgresSecond = Math.floor(row.updated_at.getTime() / 1000);
  const side = sideOf(a);
  const them = side === 'salesforce' ? 'Salesforce' : 'Stripe';
  // Where the other side's change is the later one, it is applied over Postgres's.
  const stripeLater = new Set(
    checked.skipped.filter((f) => (stripeSecondOf(a, f) ?? -1) > postgresSecond),
  );
  const stripeValues = applyPatch(current, a.patch);
  const overridden = valuesOf(stripeValues, [...stripeLater]);
  const patch: FieldPatch = { ...checked.patch, ...overridden };
  if (checked.patch.metadata || overridden.metadata)
    patch.metadata = { ...checked.patch.metadata, ...overridden.metadata };
  const moved = checked.skipped.map((field): ConflictRow => {
    const second = stripeSecondOf(a, field);
    const stripeTime = second === undefined ? 'unknown' : iso(second);
    const times = `${them}'s change (${stripeTime}), Postgres's (${iso(postgresSecond)})`;
    const theirs = fieldValue(stripeValues, field);
    const sides: Record<string, unknown> = { postgres: fieldValue(current, field) };
    for (const [target, held] of Object.entries(a.elsewhere ?? {}))
      sides[target] = fieldValue(applyPatch(current, held), field);
    sides[side] = theirs;
    return {
      field,
      postgres_value: fieldValue(current, field),
      stripe_value: side === 'stripe' ? theirs : null,
      winner: stripeLater.has(field) ? side : 'postgres',
      reason: `changed again in Postgres while the change from ${them} was being applied; the later change wins: ${times}`,
      stripe_event_id: a.eventIds[a.eventIds.length - 1] ?? '',
      detected_at: null,
      postgres_changed_at: secondToDate(postgresSecond),
      stripe_changed_at: secondToDate(second),
      target: side,
      target_value: theirs,
      sides,
    };
  });
  return {
    kept: valuesOf(
      current,
      checked.skipped.filter((f) => !stripeLater.has(f)),
    ),
    patch,
    moved,
  };
}

/** A row of `conflicts`, as a write records it; `detected_at` null: now. */
interface ConflictRow {
  field: string;
  postgres_value: unknown;
  stripe_value: unknown;
  winner: string;
  reason: string;
  stripe_event_id: string;
  detected_at: Date | null;
  postgres_changed_at: Date | null;
  stripe_changed_at: Date | null;
  target: string;
  target_value: unknown;
  sides: unknown;
}

/** The conflicts the merge settled, as the write records them. */
function mergedConflicts(a: CatalogueApply): ConflictRow[] {
  return a.conflicts.map((c) => ({
    field: c.field,
    postgres_value: c.postgres,
    // `stripe_value` is Stripe's only; `target_value` is the other side's, whichever it is.
    stripe_value: c.target ? null : c.stripe,
    winner: c.winner,
    reason: c.reason,
    stripe_event_id: c.eventId,
    detected_at: new Date(c.at),
    postgres_changed_at: secondToDate(c.postgresSecond),
    stripe_changed_at: secondToDate(c.stripeSecond),
    target: c.target ?? 'stripe',
    target_value: c.stripe,
    sides: c.sides ?? null,
  }));
}

/**
 * Records a conflict. `keep`: one recorded before stays (the merge's, recorded once); `refresh`:
 * it is brought up to date (a field found changed again, when the write is carried out again).
 */
function insertConflict(
  tx: Tx,
  customerId: string,
  c: ConflictRow,
  recorded: 'keep' | 'refresh',
): PendingQuery {
  const onConflict =
    recorded === 'keep'
      ? tx`ON CONFLICT DO NOTHING`
      : tx`ON CONFLICT (customer_id, stripe_event_id, field) DO UPDATE SET
        postgres_value = EXCLUDED.postgres_value, winner = EXCLUDED.winner, sides = EXCLUDED.sides,
        reason = EXCLUDED.reason, postgres_changed_at = EXCLUDED.postgres_changed_at,
        stripe_changed_at = EXCLUDED.stripe_changed_at`;
  return tx`
    INSERT INTO conflicts (customer_id, field, postgres_value, stripe_value, winner, reason,
                           stripe_event_id, detected_at, postgres_changed_at, stripe_changed_at,
                           target, target_value, sides)
    VALUES (${customerId}, ${c.field}, ${tx.json(c.postgres_value as never)},
            ${tx.json(c.stripe_value as never)}, ${c.winner}, ${c.reason}, ${c.stripe_event_id},
            coalesce(${c.detected_at}::timestamptz, now()), ${c.postgres_changed_at},
            ${c.stripe_changed_at},
            ${c.target}, ${tx.json(c.target_value as never)},
            ${c.sides === null ? null : tx.json(c.sides as never)})
    ${onConflict}`;
}

/** Reads of the row a fast update tries before it falls back to a transaction that locks it. */
const UPDATE_TRIES = 3;

/**
 * An update in one round trip where nothing it sets moved: the merge's patch as it is, carried out
 * if each field it sets still holds what the merge expected (`rtws_update_target`, sql/032),
 * which is what the row read would have decided. Where one does not (two more round trips), or
 * the merge's expectation cannot be sent as it is (two in all), the row is read without a lock and
 * the write decided on it, then carried out in one statement by the same function, given the
 * version read, if the row is still at it. A row that moved in between is read again; after
 * `UPDATE_TRIES` such races, undefined: the caller carries the write out in a transaction that
 * locks the row first.
 */
async function updateFromTarget(
  sql: Sql,
  customerId: string,
  a: CatalogueApply,
): Promise<ApplyResult | undefined> {
  // What does not depend on the row read: the same for every try.
  const key = writeKey(customerId, a);
  const merged = sql.json(mergedConflicts(a) as never);
  const expected = canonicalExpectation(a);
  if (expected) {
    const fields = patchParameters(sql, a.patch);
    const [r] = await sql<UpdateStatus[]>`
      SELECT status, new_version, captured FROM rtws_update_target(
        ${key}, ${customerId}, ${a.origin ?? 'stripe'},
        ${a.correlationId ?? null}, ${sideOf(a)}, ${sql.array(a.eventIds, TEXT_ARRAY)},
        ${sql.json(expected as never)}, null, ${fields.name}, ${fields.setEmail}, ${fields.email},
        ${fields.setPhone}, ${fields.phone}, ${fields.setAddress}, ${fields.address},
        ${fields.metaPut}, ${fields.metaDrop}, '[]', ${merged}, ${writeTag(a)})`;
    if (r!.status !== 'moved') return updateResult(r!, {});
  }
  for (let attempt = 1; attempt <= UPDATE_TRIES; attempt++) {
    const [row] = await sql<ReadRow[]>`
      SELECT name, email, phone, address, metadata, updated_at, version FROM customers
      WHERE id = ${customerId} AND deleted_at IS NULL`;
    const plan = row ? planUpdate(a, row) : { kept: {}, patch: {}, moved: [] };
    const fields = patchParameters(sql, plan.patch);
    const [r] = await sql<UpdateStatus[]>`
      SELECT status, new_version, captured FROM rtws_update_target(
        ${key}, ${customerId}, ${a.origin ?? 'stripe'},
        ${a.correlationId ?? null}, ${sideOf(a)}, ${sql.array(a.eventIds, TEXT_ARRAY)},
        null, ${row ? Number(row.version) : null}, ${fields.name}, ${fields.setEmail},
        ${fields.email}, ${fields.setPhone}, ${fields.phone}, ${fields.setAddress}, ${fields.address},
        ${fields.metaPut}, ${fields.metaDrop}, ${sql.json(plan.moved as never)}, ${merged},
        ${writeTag(a)})`;
    if (r!.status !== 'moved') return updateResult(r!, plan.kept);
  }
  return undefined;
}

interface UpdateStatus {
  status: 'done_before' | 'moved' | 'applied';
  new_version: number | null;
  captured: boolean;
}

function updateResult(r: UpdateStatus, kept: FieldPatch): ApplyResult {
  const applied = r.status === 'applied';
  return {
    applied,
    version: r.new_version === null ? null : Number(r.new_version),
    kept: applied ? kept : {},
    captured: r.captured,
  };
}

/** A patch as the update function takes it (sql/032). */
function patchParameters(sql: Sql, patch: FieldPatch) {
  const { put, drop } = metadataOf(patch);
  return {
    // A name is never removed.
    name: patch.name ? patch.name : null,
    setEmail: patch.email !== undefined,
    email: patch.email ?? null,
    setPhone: patch.phone !== undefined,
    phone: patch.phone ?? null,
    setAddress: patch.address !== undefined,
    address: patch.address ? sql.json(patch.address) : null,
    metaPut: sql.json(put),
    metaDrop: sql.array(drop, TEXT_ARRAY),
  };
}

/** A UTF-16 code unit of a pair, alone: text takes it, JSON does not. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Text JSON can carry. */
const text = (v: unknown): v is string | null =>
  v === null || (typeof v === 'string' && !LONE_SURROGATE.test(v));

/** Whether an expected value of each field is in canonical form, and can go as JSON. */
const CANONICAL: Record<string, (v: unknown) => boolean> = {
  name: (v) => text(v) && v === (canonicalString(v) ?? ''),
  email: (v) => text(v) && v === canonicalEmail(v),
  phone: (v) => text(v) && v === canonicalString(v),
  address: (v) =>
    (v === null || (typeof v === 'object' && Object.values(v).every(text))) &&
    sameValue(canonicalAddress(v), v),
};

/**
 * What the merge expected of the fields its patch sets (`expectedValues`, as `stillExpected`), for
 * `rtws_update_target` to check under the row's lock; undefined when a value is not in
 * canonical form, or holds a lone surrogate (it goes as JSON). The function compares values as
 * stored, and a row written by rtws holds them canonical, so a stored value equal to a canonical
 * one reads as that value here too; a value in another form could be equal as stored and yet
 * differ once read (`canonicalFields`).
 */
function canonicalExpectation(a: CatalogueApply): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  for (const [field, value] of expectedValues(a.patch, a.expected)) {
    if (field.startsWith('metadata.')) {
      const key = field.slice('metadata.'.length);
      const asRead = ownValue(canonicalMetadata({ [key]: value }), key) ?? null;
      if (value !== asRead || !text(value)) return undefined;
      setOwn(metadata, key, value);
    } else {
      if (value === undefined || !CANONICAL[field]!(value)) return undefined;
      out[field] = value;
    }
  }
  if (Object.keys(metadata).length > 0) out.metadata = metadata;
  return out;
}

/** A patch's metadata: the keys to put, and those to drop. */
function metadataOf(patch: FieldPatch) {
  const meta = Object.entries(patch.metadata ?? {});
  return {
    put: Object.fromEntries(meta.filter(([, v]) => v !== null)),
    drop: meta.filter(([, v]) => v === null).map(([k]) => k),
  };
}

/** Sets the patch's fields, and no other. */
function setFields(tx: Tx, customerId: string, patch: FieldPatch): PendingQuery {
  const { put, drop } = metadataOf(patch);
  const name = patch.name ? patch.name : null;
  const address =
    patch.address === undefined || patch.address === null ? null : tx.json(patch.address);
  return tx`
    UPDATE customers SET
      name = coalesce(${name}::text, name),
      email = CASE WHEN ${patch.email !== undefined} THEN ${patch.email ?? null}::text ELSE email END,
      phone = CASE WHEN ${patch.phone !== undefined} THEN ${patch.phone ?? null}::text ELSE phone END,
      address = CASE WHEN ${patch.address !== undefined} THEN ${address}::jsonb ELSE address END,
      metadata = (metadata || ${tx.json(put)}::jsonb) - ${tx.array(drop)}::text[]
    WHERE id = ${customerId}`;
}

/** When Stripe changed a field of the write: per field, or one second for the whole write. */
function stripeSecondOf(a: CatalogueApply, field: string): number | undefined {
  return a.changedSeconds?.[field] ?? a.changedSecond;
}

/** The current values of the named fields, as a patch. */
function valuesOf(current: CanonicalFields, fields: readonly string[]): FieldPatch {
  const out: Record<string, unknown> = {};
  const metadata: Record<string, string | null> = {};
  for (const f of fields) {
    if (f.startsWith('metadata.')) {
      const key = f.slice('metadata.'.length);
      setOwn(metadata, key, ownValue(current.metadata, key) ?? null);
    } else out[f] = current[f as keyof CanonicalFields];
  }
  if (Object.keys(metadata).length > 0) out.metadata = metadata;
  return out;
}

interface CurrentRow {
  name: string;
  email: string | null;
  phone: string | null;
  address: SyncedFields['address'];
  metadata: Record<string, string>;
}

function secondToDate(second: number | undefined): Date | null {
  return second === undefined ? null : new Date(second * 1000);
}

/** The patch's fields whose current value is still the expected one, and the others by name. */
export function stillExpected(
  current: CanonicalFields,
  patch: FieldPatch,
  expected: FieldPatch | undefined,
): { patch: FieldPatch; skipped: string[] } {
  const skipped = expectedValues(patch, expected)
    .filter(([field, value]) => !sameValue(fieldValue(current, field), value))
    .map(([field]) => field);
  return { patch: skipped.length === 0 ? patch : omitFields(patch, skipped), skipped };
}

/**
 * The fields a patch sets whose value the merge expected, with that value: each field the
 * expectation names (its value may be missing), and each metadata key it gives a value or null,
 * as `metadata.<key>`. What `stillExpected` holds against the row read, and
 * `rtws_update_target` against the row under its lock: the same fields, for both to decide
 * alike.
 */
function expectedValues(patch: FieldPatch, expected: FieldPatch | undefined): [string, unknown][] {
  if (!expected) return [];
  const out: [string, unknown][] = [];
  for (const field of SCALAR_FIELDS)
    if (patch[field] !== undefined && field in expected) out.push([field, expected[field]]);
  for (const key of Object.keys(patch.metadata ?? {})) {
    const want = ownValue(expected.metadata, key);
    if (want !== undefined) out.push([`metadata.${key}`, want]);
  }
  return out;
}

/**
 * Forgets applied events older than the retention: by then Stripe has long stopped redelivering
 * them (it retries for 3 days) and the INBOUND stream no longer holds them.
 */
export async function pruneInbox(sql: Sql, olderThanSeconds: number): Promise<number> {
  const rows = await sql`
    DELETE FROM inbox WHERE applied_at < now() - make_interval(secs => ${olderThanSeconds})`;
  return rows.count;
}
