// Creates through the API without an Idempotency-Key that arrive while earlier ones are in flight
// go to Postgres together: one statement and one commit for the batch (`rtws_create_customers`,
// sql/027), where each had its own. A create that finds nothing in flight goes at once, alone, as
// before, so a lone request waits for nothing; batches form only under load, and grow with it.
//
// Each create keeps its own answer. A batch that Postgres refuses rolled back whole (it is one
// statement), so its creates are then carried out one by one and only the one at fault fails. A
// batch whose outcome is unknown (its connection went before the answer came) is not tried again:
// it may have committed, and a create has no key to make a repeat harmless. Each of its creates
// fails as a lone create would, with a 503 that leaves the retry to the client.
import postgres from 'postgres';
import { Batcher, batchOrEachAlone, type Settled } from '../../core/batcher.ts';
import { isInfrastructureFault } from '../../core/infrastructure.ts';
import type { CanonicalAddress } from '../../core/canonical.ts';
import type { Metadata } from '../../core/customer.ts';
import { textColumn, type Sql } from './connect.ts';
import type { CustomerRow } from './customers.ts';

/** Creates in one statement, at most. */
export const MAX_CREATES = 64;
/** Batches in flight at once, each on a connection of the pool (patches' batches too). */
export const MAX_IN_FLIGHT = 2;

/** A create's values, canonical, as its INSERT takes them. */
export interface NewCustomer {
  readonly name: string | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly address: CanonicalAddress | null;
  readonly metadata: Metadata;
  /** What caused it (the request's id), carried by its outbox row. */
  readonly correlationId: string | undefined;
}

export interface CreateBatchesOptions {
  /** Carries out one create alone: a batch of one, and each create of a refused batch. */
  readonly one: (create: NewCustomer) => Promise<CustomerRow>;
  readonly maxItems?: number;
  readonly maxInFlight?: number;
}

export type CreateBatches = (create: NewCustomer) => Promise<CustomerRow>;

export function createBatches(sql: Sql, o: CreateBatchesOptions): CreateBatches {
  const batcher = new Batcher<NewCustomer, CustomerRow>({
    run: (creates) => createAll(sql, creates, o.one),
    maxItems: o.maxItems ?? MAX_CREATES,
    maxInFlight: o.maxInFlight ?? MAX_IN_FLIGHT,
  });
  return (create) => batcher.submit(create);
}

function createAll(
  sql: Sql,
  creates: readonly NewCustomer[],
  one: CreateBatchesOptions['one'],
): Promise<readonly Settled<CustomerRow>[]> {
  return batchOrEachAlone(creates, {
    batch: (all) => createBatch(sql, all),
    one,
    eachAlone: refusedWhole,
  });
}

/**
 * Postgres answered with an error: the statement, and so the whole batch, was rolled back. Shared
 * by the API's batches of patches (patch-batches.ts).
 */
export function refusedWhole(err: unknown): boolean {
  return err instanceof postgres.PostgresError && !isInfrastructureFault(err);
}

async function createBatch(sql: Sql, creates: readonly NewCustomer[]): Promise<CustomerRow[]> {
  const text = (pick: (c: NewCustomer) => string | null | undefined) =>
    textColumn(sql, creates, pick);
  const rows = await sql<(Omit<CustomerRow, 'links'> & { ord: number })[]>`
    SELECT * FROM rtws_create_customers(
      ${text((c) => c.correlationId ?? '')}, ${text((c) => c.name)}, ${text((c) => c.email)},
      ${text((c) => c.phone)}, ${sql.json(creates.map((c) => c.address))},
      ${sql.json(creates.map((c) => c.metadata))})`;
  if (rows.length !== creates.length)
    throw new Error(`a batch of ${creates.length} creates answered ${rows.length} rows`);
  const created: CustomerRow[] = [];
  for (const { ord, ...row } of rows) created[ord - 1] = { ...row, links: {} };
  return created;
}
