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
import postgres from 'postgres';
import { Batcher, batchOrEachAlone } from '../../core/batcher.ts';
import { isInfrastructureFault } from '../../core/infrastructure.ts';
import type { CanonicalAddress } from '../../core/canonical.ts';
import type { Metadata } from '../../core/customer.ts';
import type { Sql } from './connect.ts';
import type { CustomerRow } from './customers.ts';

/** Patches in one statement, at most. */
export const MAX_PATCHES = 64;
/** Batches in flight at once, each on a connection of the pool. */
export const MAX_IN_FLIGHT = 2;

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

/** Postgres answered with an error: the statement, and so the whole batch, was rolled back. */
function refusedWhole(err: unknown): boolean {
  return err instanceof postgres.PostgresError && !isInfrastructureFault(err);
}

async function patchBatch(
  sql: Sql,
  patches: readonly NewPatch[],
  maxKeys: number,
): Promise<PatchAnswer[]> {
  const elements = patches.map((p) => ({
    id: p.id,
    if_match: p.ifMatch,
    correlation: p.correlationId,
    set_name: 'name' in p.set,
    name: p.set.name ?? null,
    set_email: 'email' in p.set,
    email: p.set.email ?? null,
    set_phone: 'phone' in p.set,
    phone: p.set.phone ?? null,
    set_address: 'address' in p.set,
    address: p.set.address ?? null,
    metadata_put: p.metadataPut ?? null,
    metadata_drop: p.metadataDrop,
  }));
  const rows = await sql<(PatchAnswer & { ord: number })[]>`
    SELECT * FROM rtws_patch_customers(${sql.json(elements)}, ${maxKeys})`;
  if (rows.length !== patches.length)
    throw new Error(`a batch of ${patches.length} patches answered ${rows.length} rows`);
  const answers: PatchAnswer[] = [];
  for (const { ord, ...row } of rows) answers[ord - 1] = row;
  return answers;
}
