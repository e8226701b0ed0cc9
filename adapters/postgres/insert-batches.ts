// Plain inserts from a target (a customer born in Stripe or read from Salesforce, an import's
// customer) that the actors' steps ask for at about the same time go to Postgres together: one
// statement and one transaction for the batch (`rtws_insert_from_targets`, sql/025), where each
// had its own commit. The commit, with its WAL flush and the round trip, was most of an insert's
// cost. Each insert does exactly what it does alone (the inbox makes a repeat a no-op), with its
// own settings, so its captured change carries its own tag, origin and correlation.
//
// A batch that fails is not retried as a whole: its inserts are carried out again one by one, so
// only an insert whose content Postgres refuses fails (and ends in the DLQ). After a batch lost
// with its connection, each insert is tried alone on the pool's next connection, and one that
// fails there fails its step, which is retried as any failed write is (a batch that did commit
// before its connection went makes each a no-op: the inbox has them). An insert that waits for a
// lock (another process inserting the same customer at once) holds the rest of its batch.
import type { Logger } from '../../core/ports.ts';
import { Batcher, batchOrEachAlone, type Settled } from '../../core/batcher.ts';
import { writeTag, type CatalogueApply } from '../../actors/customer/index.ts';
import type { CanonicalFields } from '../../core/canonical.ts';
import type { Sql } from './connect.ts';
import { insertFromTarget, linksOf, sideOf, writeKey, type ApplyResult } from './inbound-apply.ts';

/** Inserts in one statement, at most. */
export const MAX_BATCH = 64;
/**
 * Batches in flight at once: one being carried out while the next forms, and a second so that a
 * slow one does not hold the rest. Each takes a connection of the pool.
 */
export const MAX_IN_FLIGHT = 2;

export interface PlainInsert {
  readonly customerId: string;
  readonly apply: CatalogueApply;
  readonly fields: CanonicalFields;
}

export type InsertBatches = (insert: PlainInsert) => Promise<ApplyResult>;

export interface InsertBatchesOptions {
  readonly maxItems?: number;
  readonly maxInFlight?: number;
  /** Told of a batch that failed, whose inserts are then carried out one by one. */
  readonly log?: Pick<Logger, 'warn'>;
}

export function insertBatches(
  sql: Sql,
  { maxItems = MAX_BATCH, maxInFlight = MAX_IN_FLIGHT, log }: InsertBatchesOptions = {},
): InsertBatches {
  const batcher = new Batcher<PlainInsert, ApplyResult>({
    run: (inserts) => insertAll(sql, inserts, log),
    maxItems,
    maxInFlight,
  });
  return (insert) => batcher.submit(insert);
}

function insertAll(
  sql: Sql,
  inserts: readonly PlainInsert[],
  log: InsertBatchesOptions['log'],
): Promise<readonly Settled<ApplyResult>[]> {
  return batchOrEachAlone(inserts, {
    batch: (all) => insertBatch(sql, all),
    one: ({ customerId, apply, fields }) => insertFromTarget(sql, customerId, apply, fields),
    eachAlone: (err) => {
      log?.warn(
        { err: String(err), inserts: inserts.length },
        'a batch of inserts from a target failed; carrying them out one by one',
      );
      return true;
    },
  });
}

async function insertBatch(sql: Sql, inserts: readonly PlainInsert[]): Promise<ApplyResult[]> {
  const writes = inserts.map(({ customerId, apply: a, fields: f }) => {
    const links = linksOf(a);
    return {
      write_key: writeKey(customerId, a),
      customer: customerId,
      origin: a.origin ?? 'stripe',
      correlation: a.correlationId ?? null,
      version_floor: a.versionFloor ?? null,
      side: a.origin === 'restore' ? null : sideOf(a),
      events: a.eventIds,
      name: f.name,
      email: f.email,
      phone: f.phone,
      address: f.address,
      metadata: f.metadata,
      targets: links.map(([t]) => t),
      externals: links.map(([, id]) => id),
      write_id: writeTag(a),
    };
  });
  const rows = await sql<
    { ord: number; was_applied: boolean; new_version: string | null; captured: boolean }[]
  >`SELECT ord, was_applied, new_version, captured
    FROM rtws_insert_from_targets(${sql.json(writes)})`;
  if (rows.length !== inserts.length)
    throw new Error(`a batch of ${inserts.length} inserts answered ${rows.length} rows`);
  const results: ApplyResult[] = [];
  for (const r of rows)
    results[r.ord - 1] = {
      applied: r.was_applied,
      version: r.new_version === null ? null : Number(r.new_version),
      kept: {},
      captured: r.captured,
    };
  return results;
}
