// The links the actors' steps record (a create's outcome names the object it made) go to Postgres
// together when they are asked for while earlier ones are in flight: one statement and one commit
// for the batch, where each had its own. A lone link goes at once, alone, so a quiet worker waits
// for nothing. Recording a link is idempotent, so a batch that failed, for whatever reason, is
// carried out again link by link: only a link at fault (its object already another customer's)
// fails, and the step that asked for it is tried again.
import { Batcher, batchOrEachAlone } from '../../core/batcher.ts';
import type { Logger } from '../../core/ports.ts';
import { TEXT_ARRAY, type Sql } from './connect.ts';
import { recordLink } from './links.ts';

/** Links in one statement, at most. */
export const MAX_LINKS = 64;
/** Batches in flight at once, each on a connection of the pool. */
export const MAX_IN_FLIGHT = 2;

export interface Link {
  readonly customerId: string;
  readonly target: string;
  readonly externalId: string;
}

export interface LinkBatchesOptions {
  /** Told of a batch that failed, whose links are then recorded one by one. */
  readonly log?: Pick<Logger, 'warn'>;
  readonly maxItems?: number;
  readonly maxInFlight?: number;
}

export type LinkBatches = (link: Link) => Promise<void>;

export function linkBatches(sql: Sql, o: LinkBatchesOptions = {}): LinkBatches {
  const batcher = new Batcher<Link, void>({
    run: (links) =>
      batchOrEachAlone(links, {
        batch: (all) => recordLinks(sql, all),
        one: (l) => recordLink(sql, l.customerId, l.target, l.externalId),
        eachAlone: (err) => {
          o.log?.warn(
            { err: String(err), links: links.length },
            'a batch of links failed; recording them one by one',
          );
          return true;
        },
      }),
    maxItems: o.maxItems ?? MAX_LINKS,
    maxInFlight: o.maxInFlight ?? MAX_IN_FLIGHT,
  });
  return (link) => batcher.submit(link);
}

/** `recordLink` for several links in one statement. */
async function recordLinks(sql: Sql, links: readonly Link[]): Promise<void[]> {
  // A statement may not update one row twice: of two links for one customer and target, the one
  // asked for last is recorded, as it would be one after the other.
  const last = new Map<string, Link>();
  for (const l of links) last.set(`${l.customerId}/${l.target}`, l);
  const rows = [...last.values()];
  const text = (pick: (l: Link) => string) => sql.array(rows.map(pick), TEXT_ARRAY);
  await sql`
    INSERT INTO customer_links (customer_id, target, external_id)
    SELECT customer_id::uuid, target, external_id
    FROM unnest(${text((l) => l.customerId)}::text[], ${text((l) => l.target)}::text[],
                ${text((l) => l.externalId)}::text[]) AS l (customer_id, target, external_id)
    ON CONFLICT (customer_id, target) DO UPDATE SET external_id = EXCLUDED.external_id, linked_at = now()
    WHERE customer_links.external_id IS DISTINCT FROM EXCLUDED.external_id`;
  return links.map(() => undefined);
}
