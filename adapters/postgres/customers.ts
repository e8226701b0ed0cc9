// The customer catalogue. Writes are single statements or short transactions; the triggers bump
// the version, stamp the origin and capture the change into the outbox in the same transaction.
import type {
  Customer,
  CustomerCreateBody,
  CustomerPatchBody,
  Metadata,
} from '../../core/customer.ts';
import { METADATA_MAX_KEYS } from '../../core/customer.ts';
import { canonicalAddress, canonicalEmail, canonicalString } from '../../core/canonical.ts';
import { NotFoundError, PreconditionFailedError, ValidationError } from '../../core/errors.ts';
import { likeLiteral } from './like-pattern.ts';
import { setCorrelation } from './correlation.ts';
import { TEXT_ARRAY, type Sql, type Tx } from './connect.ts';
import { createBatches, type NewCustomer } from './create-batches.ts';
import {
  patchBatches,
  type NewPatch,
  type PatchAnswer,
  type PatchOutcome,
} from './patch-batches.ts';

/** A customer's row, as the repository selects it (`COLUMNS`). */
export interface CustomerRow {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  address: Customer['address'];
  metadata: Metadata;
  version: number;
  origin: string;
  created_at: Date;
  updated_at: Date;
  links: Record<string, string>;
}

const COLUMNS = `id, name, email, phone, address, metadata, version, origin, created_at, updated_at,
  (SELECT coalesce(jsonb_object_agg(l.target, l.external_id), '{}'::jsonb)
   FROM customer_links l WHERE l.customer_id = customers.id) AS links`;

export function toCustomer(r: CustomerRow): Customer {
  return {
    id: r.id,
    object: 'customer',
    name: r.name,
    email: r.email,
    phone: r.phone,
    address: r.address,
    metadata: r.metadata,
    version: r.version,
    origin: r.origin,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    links: r.links,
  };
}

export interface Page {
  data: Customer[];
  next_cursor: string | null;
}

export interface ListQuery {
  limit: number;
  cursor?: string | undefined;
  email?: string | undefined;
  /** Search: the id (exact), the email (case-insensitive prefix) or the name (substring). */
  q?: string | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function customerRepository(sql: Sql) {
  const search = (text: string) => {
    const literal = likeLiteral(text.trim());
    return sql`AND (${UUID.test(text.trim()) ? sql`id = ${text.trim()} OR` : sql``}
                   lower(email) LIKE lower(${literal}) || '%' OR name ILIKE '%' || ${literal} || '%')`;
  };
  const createdTogether = createBatches(sql, { one: (c) => insertCustomer(sql, c) });
  const patchedTogether = patchBatches(sql, {
    one: (p) => patchCustomer(sql, p),
    maxKeys: METADATA_MAX_KEYS,
  });
  return {
    /**
     * `correlationId`: what caused the change (the request's id), carried by its outbox row.
     * Outside a transaction (`tx` is the pool), creates made at the same time share a statement.
     */
    async create(
      body: CustomerCreateBody,
      tx: Tx = sql,
      correlationId?: string,
    ): Promise<Customer> {
      const create: NewCustomer = {
        name: canonicalString(body.name),
        email: canonicalEmail(body.email),
        phone: canonicalString(body.phone),
        address: canonicalAddress(body.address),
        metadata: body.metadata ?? {},
        correlationId,
      };
      return toCustomer(await (tx === sql ? createdTogether(create) : insertCustomer(tx, create)));
    },

    async get(id: string): Promise<Customer> {
      const [row] = await sql<CustomerRow[]>`
        SELECT ${sql.unsafe(COLUMNS)} FROM customers WHERE id = ${id} AND deleted_at IS NULL`;
      if (!row) throw new NotFoundError('customer');
      return toCustomer(row);
    },

    async list(q: ListQuery): Promise<Page> {
      // rtws writes emails lower-cased; a row written before it may not be. Both sides go through
      // Postgres's lower(), which sql/030 indexes (JavaScript's may differ outside ASCII).
      const email = q.email === undefined ? undefined : canonicalString(q.email);
      // Keyset pagination on (created_at, id); the cursor is the last id of the previous page.
      const rows = await sql<CustomerRow[]>`
        SELECT ${sql.unsafe(COLUMNS)} FROM customers
        WHERE deleted_at IS NULL
          ${email === undefined ? sql`` : sql`AND lower(email) = lower(${email})`}
          ${q.q === undefined ? sql`` : search(q.q)}
          ${q.cursor === undefined ? sql`` : sql`AND (created_at, id) > (SELECT created_at, id FROM customers WHERE id = ${q.cursor})`}
        ORDER BY created_at, id
        LIMIT ${q.limit + 1}`;
      const more = rows.length > q.limit;
      const data = rows.slice(0, q.limit).map(toCustomer);
      return { data, next_cursor: more ? (data.at(-1)?.id ?? null) : null };
    },

    /**
     * One statement: the checks and the write under the row's lock (sql/028). Patches made at the
     * same time share a statement (sql/029).
     */
    async patch(
      id: string,
      patch: CustomerPatchBody,
      ifMatch?: number,
      correlationId?: string,
    ): Promise<Customer> {
      const entries = Object.entries(patch.metadata ?? {});
      const r = await patchedTogether({
        id,
        ifMatch: ifMatch ?? null,
        correlationId: correlationId ?? '',
        set: {
          ...(patch.name === undefined ? {} : { name: canonicalString(patch.name) }),
          ...(patch.email === undefined ? {} : { email: canonicalEmail(patch.email) }),
          ...(patch.phone === undefined ? {} : { phone: canonicalString(patch.phone) }),
          ...(patch.address === undefined ? {} : { address: canonicalAddress(patch.address) }),
        },
        metadataPut:
          patch.metadata === undefined
            ? undefined
            : Object.fromEntries(entries.filter((e): e is [string, string] => e[1] !== null)),
        metadataDrop: entries.filter(([, v]) => v === null).map(([k]) => k),
      });
      refused(r, ifMatch);
      return toCustomer(r);
    },

    /** One statement, as a patch: a tombstone, under the row's lock (sql/028). */
    async remove(id: string, ifMatch?: number, correlationId?: string): Promise<void> {
      const [r] = await sql<WriteOutcome[]>`
        SELECT * FROM rtws_delete_customer(${id}, ${ifMatch ?? null}, ${correlationId ?? ''})`;
      refused(r!, ifMatch);
    },
  };
}

export type CustomerRepository = ReturnType<typeof customerRepository>;

/** One create, alone: its correlation is set within the same statement. */
async function insertCustomer(tx: Tx, c: NewCustomer): Promise<CustomerRow> {
  // INSERT … SELECT rather than VALUES, so the correlation is set within the same statement.
  const [row] = await tx<CustomerRow[]>`
    INSERT INTO customers (name, email, phone, address, metadata)
    SELECT ${c.name}::text, ${c.email}::text, ${c.phone}::text,
           ${json(tx, c.address)}::jsonb, ${json(tx, c.metadata)}::jsonb
    FROM (SELECT ${setCorrelation(tx, c.correlationId)}) AS correlation
    RETURNING ${tx.unsafe(COLUMNS)}`;
  return row!;
}

/** One patch, alone: its checks and its write under the row's lock (sql/028). */
async function patchCustomer(sql: Sql, p: NewPatch): Promise<PatchAnswer> {
  const [r] = await sql<PatchAnswer[]>`
    SELECT * FROM rtws_patch_customer(
      ${p.id}, ${p.ifMatch}, ${p.correlationId},
      ${'name' in p.set}, ${p.set.name ?? null}::text,
      ${'email' in p.set}, ${p.set.email ?? null}::text,
      ${'phone' in p.set}, ${p.set.phone ?? null}::text,
      ${'address' in p.set}, ${json(sql, p.set.address ?? null)}::jsonb,
      ${p.metadataPut === undefined ? null : sql.json(p.metadataPut)}::jsonb,
      ${sql.array([...p.metadataDrop], TEXT_ARRAY)}, ${METADATA_MAX_KEYS})`;
  return r!;
}

/** What a patch or a delete answered before its row: whether it wrote, and why not. */
interface WriteOutcome {
  outcome: PatchOutcome['outcome'] | 'deleted';
  current_version: number | null;
}

/** Throws the API's error for a write the row's checks refused. */
function refused(r: WriteOutcome, ifMatch: number | undefined): void {
  if (r.outcome === 'missing') throw new NotFoundError('customer');
  if (r.outcome === 'precondition') throw new PreconditionFailedError(ifMatch!, r.current_version!);
  if (r.outcome === 'too_many_keys')
    throw new ValidationError(
      `metadata may hold at most ${METADATA_MAX_KEYS} keys after the merge`,
      'metadata',
    );
}

function json(tx: Tx, value: unknown) {
  return value === null ? null : tx.json(value as Parameters<Tx['json']>[0]);
}
