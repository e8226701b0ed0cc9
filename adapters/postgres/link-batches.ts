// Links the actors' steps record at about the same time (a create's outcome names the twin it made)
// go to Postgres together: one statement for the batch, where each was a statement and a commit of
// its own. An outbound create recorded its link alone, so under load that was the worker's most
// frequent statement (one per created customer, more than the API's batched creates and patches).
//
// Each link does what it does alone: it is recorded, or moved to the id named, and a repeat
// changes nothing. A batch that Postgres refuses (a record already linked to another customer, a
// customer gone) rolled back whole, so its links are then recorded one by one and only the one at
// fault fails its step. A batch lost with its connection fails each of its links, and their steps
// are retried; recording a link again is harmless.
import postgres from 'postgres';
import { Batcher, batchOrEachAlone } from '../../core/batcher.ts';
import { isInfrastructureFault } from '../../core/infrastructure.ts';
import { TEXT_ARRAY, type Sql } from './connect.ts';
import { recordLink } from './links.ts';

/** Links in one statement, at most. */
export const MAX_LINKS = 64;
/** Batches in flight at once, each on a connection of the pool. */
export const MAX_IN_FLIGHT = 2;

export interface NewLink {
  readonly customerId: string;
  readonly target: string;
  readonly externalId: string;
}

export type LinkBatches = (link: NewLink) => Promise<void>;

export interface LinkBatchesOptions {
  readonly maxItems?: number;
  readonly maxInFlight?: number;
}

export function linkBatches(
  sql: Sql,
  { maxItems = MAX_LINKS, maxInFlight = MAX_IN_FLIGHT }: LinkBatchesOptions = {},
): LinkBatches {
  const batcher = new Batcher<NewLink, void>({
    run: (links) =>
      batchOrEachAlone(links, {
        batch: (all) => linkBatch(sql, all),
        one: (l) => recordLink(sql, l.customerId, l.target, l.externalId),
        eachAlone: refusedWhole,
      }),
    maxItems,
    maxInFlight,
  });
  return (link) => batcher.submit(link);
}

/** Postgres answered with an error: the statement, and so the whole batch, was rolled back. */
function refusedWhole(err: unknown): boolean {
  return err instanceof postgres.PostgresError && !isInfrastructureFault(err);
}

async function linkBatch(sql: Sql, links: readonly NewLink[]): Promise<void[]> {
  // One row per customer and target: a statement cannot upsert a row twice. A customer's steps run
  // one at a time, so a pair comes once a batch; should it come twice, the later one asked for
  // wins, as it would one after the other.
  const last = new Map<string, NewLink>();
  for (const l of links) last.set(`${l.customerId}\u0000${l.target}`, l);
  const rows = [...last.values()];
  const text = (pick: (l: NewLink) => string) => sql.array(rows.map(pick), TEXT_ARRAY);
  await sql`
    INSERT INTO customer_links (customer_id, target, external_id)
    SELECT c::uuid, t, e
    FROM unnest(${text((l) => l.customerId)}, ${text((l) => l.target)}, ${text((l) => l.externalId)})
      AS u(c, t, e)
    ON CONFLICT (customer_id, target) DO UPDATE SET external_id = EXCLUDED.external_id, linked_at = now()
    WHERE customer_links.external_id IS DISTINCT FROM EXCLUDED.external_id`;
  return links.map(() => undefined);
}
