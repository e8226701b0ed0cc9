// Patches through the API that arrive while earlier ones are in flight go to Postgres together: one
// statement and one commit for the batch (`rtws_patch_customers`, sql/029), where each had its
// own. A patch that finds nothing in flight goes at once, alone, as before, so a lone request
// waits for nothing; batches form only under load, and grow with it.
//
// Each patch is carried out as it is alone (`rtws_patch_customer`): its checks under the row's
// lock, its own outcome (a 404, a 412, a 400 or the row), its own correlation on its captured
// change. A batch that Postgres refuses rolled back whole (it is one statement), so its patches are
// then carried out one by one and only the one at fault fails. A batch whose outcome is unknown
// (its connection went before the answer came) is not tried again: it may have committed, so each
// of its patches fails as a lone patch would, with a 503 that leaves the retry to the client.
//
// The patches of a batch answer together: one whose row is locked elsewhere holds up the others
// until it is through. rtws's own writers hold a row's lock for a statement or a short
// transaction, so that is a matter of milliseconds; a row kept locked in someone's open
// transaction holds up its whole batch.
import { Batcher, batchOrEachAlone } from '../../core/batcher.ts';
import type { CanonicalAddress } from '../../core/canonical.ts';
import type { Metadata } from '../../core/customer.ts';
import { textColumn, type Sql } from './connect.ts';
import type { CustomerRow } from './customers.ts';
import { MAX_IN_FLIGHT, refusedWhole } from './create-batches.ts';

/** Patches in one statement, at most. */
export const MAX_PATCHES = 64;

/** A patch's arguments, canonical, as `rtws_patch_customer` takes them. */
export interface NewPatch {
  readonly id: string;
  readonly ifMatch: number | null;
  readonly correlationId: string;
  /** The fields the patch names, with their values (null clears). */
  readonly set: {
    readonly name?: string | null;
    readonly email?: string | null;
    readonly phone?: string | null;
    readonly address?: CanonicalAddress | null;
  };
  /** Metadata added or replaced; undefined when the patch has no metadata. */
  readonly metadataPut: Metadata | undefined;
  readonly metadataDrop: readonly string[];
}

/** What a patch answered before its row: whether it wrote, and why not. */
export interface PatchOutcome {
  readonly outcome: 'missing' | 'precondition' | 'too_many_keys' | 'updated';
  readonly current_version: number | null;
}

export type PatchAnswer = CustomerRow & PatchOutcome;

export interface PatchBatchesOptions {
  /** Carries out one patch alone: a batch of one, and each patch of a refused batch. */
  readonly one: (patch: NewPatch) => Promise<PatchAnswer>;
  readonly maxKeys: number;
  readonly maxItems?: number;
  readonly maxInFlight?: number;
}

export type PatchBatches = (patch: NewPatch) => Promise<PatchAnswer>;

export function patchBatches(sql: Sql, o: PatchBatchesOptions): PatchBatches {
  const batcher = new Batcher<NewPatch, PatchAnswer>({
    run: (patches) =>
      batchOrEachAlone(patches, {
        batch: (all) => patchBatch(sql, all, o.maxKeys),
        one: o.one,
        eachAlone: refusedWhole,
      }),
    maxItems: o.maxItems ?? MAX_PATCHES,
    maxInFlight: o.maxInFlight ?? MAX_IN_FLIGHT,
  });
  return (patch) => batcher.submit(patch);
}

async function patchBatch(
  sql: Sql,
  patches: readonly NewPatch[],
  maxKeys: number,
): Promise<PatchAnswer[]> {
  const elements = patches.map((p) => ({
    id: p.id,
    if_match: p.ifMatch,
    set_name: 'name' in p.set,
    set_email: 'email' in p.set,
    set_phone: 'phone' in p.set,
    set_address: 'address' in p.set,
    address: p.set.address ?? null,
    metadata_put: p.metadataPut ?? null,
    metadata_drop: p.metadataDrop,
  }));
  const text = (pick: (p: NewPatch) => string | null | undefined) => textColumn(sql, patches, pick);
  const rows = await sql<(PatchAnswer & { ord: number })[]>`
    SELECT * FROM rtws_patch_customers(
      ${sql.json(elements)}, ${text((p) => p.correlationId)}, ${text((p) => p.set.name)},
      ${text((p) => p.set.email)}, ${text((p) => p.set.phone)}, ${maxKeys})`;
  if (rows.length !== patches.length)
    throw new Error(`a batch of ${patches.length} patches answered ${rows.length} rows`);
  const answers: PatchAnswer[] = [];
  for (const { ord, ...row } of rows) answers[ord - 1] = row;
  return answers;
}
