// Updates from a target (a change seen in Stripe, or read from Salesforce) that the actors' steps
// ask for while earlier ones are in flight go to Postgres together: one read of all their rows,
// then one statement and one transaction for the batch (`rtws_update_from_targets`, sql/030),
// where each had its own read, statement and commit. An update that finds nothing in flight goes
// at once, alone, as before, so a lone change waits for nothing; batches form only under load.
//
// Each update is decided on its own row, as read, and carried out by `rtws_update_from_target`
// exactly as alone: only if the row is still at the version read (else `moved`, and the caller
// reads and decides again, alone), with its own inbox entry and its own settings, so its captured
// change carries its own tag, origin and correlation.
//
// A batch that fails is not retried as a whole: its updates are tried again one by one, so only
// one whose content Postgres refuses fails. That holds after a batch lost with its connection
// too: the inbox has the write of a batch that did commit, so its try alone answers `done_before`
// and writes nothing. The updates of a batch answer together: one whose row is locked elsewhere
// holds up the others until it is through.
import type { Logger } from '../../core/ports.ts';
import { Batcher, batchOrEachAlone } from '../../core/batcher.ts';
import type { CatalogueApply } from '../../actors/customer/index.ts';
import { TEXT_ARRAY, type Sql } from './connect.ts';
import {
  updateCall,
  updateOnce,
  updateResult,
  type FirstUpdate,
  type ReadRow,
  type UpdateAnswer,
  type UpdateResult,
} from './inbound-apply.ts';
import { MAX_BATCH, MAX_IN_FLIGHT } from './insert-batches.ts';

interface TargetUpdate {
  readonly customerId: string;
  readonly apply: CatalogueApply;
}

export interface UpdateBatchesOptions {
  readonly maxItems?: number;
  readonly maxInFlight?: number;
  /** Told of a batch that failed, whose updates are then tried one by one. */
  readonly log?: Pick<Logger, 'warn'>;
}

/** An update's first try, in a batch with those asked for while others are in flight. */
export function updateBatches(
  sql: Sql,
  { maxItems = MAX_BATCH, maxInFlight = MAX_IN_FLIGHT, log }: UpdateBatchesOptions = {},
): FirstUpdate {
  const batcher = new Batcher<TargetUpdate, UpdateResult>({
    run: (updates) =>
      batchOrEachAlone(updates, {
        batch: (all) => updateBatch(sql, all),
        one: ({ customerId, apply }) => updateOnce(sql, customerId, apply),
        eachAlone: (err) => {
          log?.warn(
            { err: String(err), updates: updates.length },
            'a batch of updates from a target failed; trying them one by one',
          );
          return true;
        },
      }),
    maxItems,
    maxInFlight,
  });
  return (customerId, apply) => batcher.submit({ customerId, apply });
}

async function updateBatch(sql: Sql, updates: readonly TargetUpdate[]): Promise<UpdateResult[]> {
  const ids = [...new Set(updates.map((u) => u.customerId))];
  const rows = await sql<(ReadRow & { id: string })[]>`
    SELECT id, name, email, phone, address, metadata, updated_at, version FROM customers
    WHERE id = ANY(${sql.array(ids, TEXT_ARRAY)}::uuid[]) AND deleted_at IS NULL`;
  const read = new Map(rows.map((r) => [r.id, r]));
  const calls = updates.map((u) => updateCall(u.customerId, u.apply, read.get(u.customerId)));
  const text = (pick: (c: (typeof calls)[number]) => string | null) =>
    sql.array(calls.map(pick), TEXT_ARRAY);
  // The text fields go as text arrays; the rest in one JSON element per update.
  const elements = calls.map(
    ({ kept: _kept, name: _name, email: _email, phone: _phone, ...c }) => c,
  );
  const answers = await sql<(UpdateAnswer & { ord: number })[]>`
    SELECT ord, status, new_version, captured FROM rtws_update_from_targets(
      ${sql.json(elements as never)}, ${text((c) => c.name)}, ${text((c) => c.email)},
      ${text((c) => c.phone)})`;
  if (answers.length !== updates.length)
    throw new Error(`a batch of ${updates.length} updates answered ${answers.length} rows`);
  const results: UpdateResult[] = [];
  for (const { ord, ...answer } of answers)
    results[ord - 1] = updateResult(calls[ord - 1]!, answer);
  return results;
}
