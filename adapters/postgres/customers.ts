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
import type { Sql, Tx } from './connect.ts';
import { createBatches, type NewCustomer } from './create-batches.ts';

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
      const email = q.email === undefined ? undefined : canonicalEmail(q.email);
      // Keyset pagination on (created_at, id); the cursor is the last id of the previous page.
      const rows = await sql<CustomerRow[]>`
        SELECT ${sql.unsafe(COLUMNS)} FROM customers
        WHERE deleted_at IS NULL
          ${email === undefined ? sql`` : sql`AND email = ${email}`}
          ${q.q === undefined ? sql`` : search(q.q)}
          ${q.cursor === undefined ? sql`` : sql`AND (created_at, id) > (SELECT created_at, id FROM customers WHERE id = ${q.cursor})`}
        ORDER BY created_at, id
        LIMIT ${q.limit + 1}`;
      const more = rows.length > q.limit;
      const data = rows.slice(0, q.limit).map(toCustomer);
      return { data, next_cursor: more ? (data.at(-1)?.id ?? null) : null };
    },

    async patch(
      id: string,
      patch: CustomerPatchBody,
      ifMatch?: number,
      correlationId?: string,
    ): Promise<Customer> {
      return sql.begin(async (tx) => {
        const current = await lockLive(tx, id, ifMatch, correlationId);
        const metadata = mergeMetadata(current.metadata, patch.metadata);
        const [row] = await tx<CustomerRow[]>`
          UPDATE customers SET
            name = ${patch.name === undefined ? current.name : canonicalString(patch.name)},
            email = ${patch.email === undefined ? current.email : canonicalEmail(patch.email)},
            phone = ${patch.phone === undefined ? current.phone : canonicalString(patch.phone)},
            address = ${json(tx, patch.address === undefined ? current.address : canonicalAddress(patch.address))},
            metadata = ${json(tx, metadata)}
          WHERE id = ${id}
          RETURNING ${tx.unsafe(COLUMNS)}`;
        return toCustomer(row!);
      });
    },

    async remove(id: string, ifMatch?: number, correlationId?: string): Promise<void> {
      await sql.begin(async (tx) => {
        await lockLive(tx, id, ifMatch, correlationId);
        await tx`UPDATE customers SET deleted_at = now() WHERE id = ${id}`;
      });
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

/** Also sets the transaction's correlation id, for the change that follows. */
async function lockLive(
  tx: Tx,
  id: string,
  ifMatch: number | undefined,
  correlationId: string | undefined,
): Promise<CustomerRow> {
  const [row] = await tx<CustomerRow[]>`
    SELECT ${tx.unsafe(COLUMNS)}, ${setCorrelation(tx, correlationId)} AS correlation
    FROM customers WHERE id = ${id} AND deleted_at IS NULL FOR UPDATE`;
  if (!row) throw new NotFoundError('customer');
  if (ifMatch !== undefined && row.version !== ifMatch)
    throw new PreconditionFailedError(ifMatch, row.version);
  return row;
}

/** Metadata patches merge; a null value removes its key. */
export function mergeMetadata(current: Metadata, patch: CustomerPatchBody['metadata']): Metadata {
  if (!patch) return current;
  const out: Metadata = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  if (Object.keys(out).length > METADATA_MAX_KEYS) {
    throw new ValidationError(
      `metadata may hold at most ${METADATA_MAX_KEYS} keys after the merge`,
      'metadata',
    );
  }
  return out;
}

function json(tx: Tx, value: unknown) {
  return value === null ? null : tx.json(value as Parameters<Tx['json']>[0]);
}
