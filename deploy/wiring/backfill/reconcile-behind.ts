// A catalogue behind its actors: after a database restore, a row can be older than the version
// its customer's actor last took from the catalogue, or missing while the actor knows the
// customer. Either target's walk hands such a row to the actor (`CatalogueRowObserved`), which
// brings it forward by its own rules (actors/customer/restore.ts); the walk only reports it.
import type { CatalogueRowObserved } from '../../../actors/customer/index.ts';
import type { CatalogueRow } from '../../../adapters/postgres/reconciliations.ts';
import { publishTo } from './import-handover.ts';
import type { ImportDeps } from './stripe-import.ts';

/** What a customer's actor knows of the catalogue: the version it last took, a deletion. */
export interface ActorKnows {
  readonly version: number;
  readonly deleted: boolean;
}

export type ActorKnowledge = (customerId: string) => Promise<ActorKnows | undefined>;

/** A row read behind its actor, to hand over, with what the report says of it. */
export interface Behind {
  readonly customerId: string;
  readonly row: Omit<CatalogueRowObserved['data'], 'runId'>;
  readonly detail: string;
}

/**
 * The row, when it is behind what the customer's actor knows: at an older version, or missing
 * altogether while the actor knows a live customer. A deleted row is never behind: a deletion is
 * final.
 */
export async function behind(
  knows: ActorKnowledge | undefined,
  customerId: string,
  row: CatalogueRow | undefined,
  stripeId: string | null,
): Promise<Behind | undefined> {
  if (!knows || row?.deleted) return undefined;
  const known = await knows(customerId);
  if (known === undefined) return undefined;
  if (row === undefined) {
    if (known.deleted) return undefined;
    return {
      customerId,
      row: { fields: null, version: 0, updatedAt: null, knownVersion: known.version, stripeId },
      detail: `missing from the catalogue, though rtws synced it at version ${known.version}: a restored database; handed to its actor, which inserts it again`,
    };
  }
  if (row.version >= known.version) return undefined;
  const what = known.deleted ? 'deleted since' : `at version ${known.version}`;
  return {
    customerId,
    row: {
      fields: row.fields,
      version: row.version,
      updatedAt: row.updatedAt.toISOString(),
      knownVersion: known.version,
      stripeId,
    },
    detail: `the catalogue's row is at version ${row.version}, behind the customer rtws last synced (${what}): a restored database; handed to its actor, which brings the row forward`,
  };
}

/** On the customer's own subject, once per run (both targets' walks may find the same row). */
export async function handOverRow(
  o: Pick<ImportDeps, 'publisher' | 'names' | 'binding'> & { paced?: () => Promise<void> },
  runId: number,
  b: Behind,
): Promise<void> {
  await o.paced?.();
  const observed: CatalogueRowObserved = {
    type: 'CatalogueRowObserved',
    data: { ...b.row, runId },
    at: 0,
  };
  await publishTo(o, b.customerId, observed, `restore:${runId}:${b.customerId}`);
}
