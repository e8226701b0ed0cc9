// What one step of a reconciliation found, in either target: a decision per record (its sample),
// and a difference to record for the ones that are not equal.
import type { DecisionSample } from '../../../adapters/postgres/backfills.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { recordDifferences, type Difference } from '../../../adapters/postgres/reconciliations.ts';

export type ReconcileDecision =
  | 'equal'
  | 'differs'
  | 'orphan'
  | 'erased'
  | 'unlinked'
  | 'unlinked_ours'
  | 'relinked'
  | 'deleted_in_catalogue'
  | 'deleted_in_stripe'
  | 'missing_in_stripe'
  | 'missing_in_salesforce'
  | 'deleted_in_salesforce'
  | 'external_id_changed'
  | 'catalogue_behind';

export interface Found {
  readonly sample: DecisionSample & { decision: ReconcileDecision };
  readonly difference?: Difference;
}

/** Records a step's differences; the decisions and differences the step reports. */
export async function settle(sql: Sql, runId: number, found: readonly Found[]) {
  const differences = found.flatMap((f) => (f.difference ? [f.difference] : []));
  await recordDifferences(sql, runId, differences);
  return { decisions: found.map((f) => f.sample), differences };
}
