// What a reconciliation found in Salesforce, handed to the customer's actor. While Salesforce is
// only a target, a field edited there is put back: the target learns what the record holds, and
// the push rule sends the catalogue's values again, as for any target that holds other values. A
// record deleted there follows RTWS_SALESFORCE_ON_REMOTE_DELETE, and never silently:
// - `unlink` (the default): the target is unlinked, with the reason, and dead-lettered; a redrive
//   upserts the record again;
// - `recreate`: the record is upserted again at once;
// - `propagate`: the customer is deleted in Postgres, and so everywhere.
import { Type, type Static } from '@sinclair/typebox';
import { applyPatch } from '../../core/policy/push.ts';
import type { TargetState } from './context.ts';
import { unlinked } from './failure-step.ts';
import { askDeletion, type InboundContext } from './inbound-step.ts';
import { recordFind, type TargetEnv } from './plan.ts';
import { FieldPatchSchema, recordedEvent } from './schemas.ts';

export const SalesforceRecordObserved = recordedEvent('SalesforceRecordObserved', {
  /** The record read, by its Salesforce id. */
  recordId: Type.String({ minLength: 1 }),
  /** The fields whose values the record holds differ from the catalogue's: the record's values. */
  held: FieldPatchSchema,
});
export type SalesforceRecordObserved = Static<typeof SalesforceRecordObserved>;

export const REMOTE_DELETE_POLICIES = ['unlink', 'propagate', 'recreate'] as const;
export type RemoteDeletePolicy = (typeof REMOTE_DELETE_POLICIES)[number];

export const SalesforceRecordMissing = recordedEvent('SalesforceRecordMissing', {
  /** The linked record no read found, by its Salesforce id. */
  recordId: Type.String({ minLength: 1 }),
  policy: Type.Union(REMOTE_DELETE_POLICIES.map((p) => Type.Literal(p))),
});
export type SalesforceRecordMissing = Static<typeof SalesforceRecordMissing>;

/**
 * The record holds `held`: known from now on, so the next plan pushes what differs. A record of
 * another link (the customer was linked again since the read), or a target deleted or off, is left.
 */
export function onSalesforceHeld(t: TargetState, ev: SalesforceRecordObserved): TargetState {
  if (t.status === 'off' || t.status === 'deleted' || t.externalId !== ev.data.recordId) return t;
  if (t.known === null) return t;
  return { ...t, known: applyPatch(t.known, ev.data.held) };
}

/** The linked record is gone from Salesforce: the policy decides. */
export function onSalesforceMissing<
  C extends InboundContext & { targets: { salesforce: TargetState } },
>(c: C, ev: SalesforceRecordMissing, env: TargetEnv): C {
  const t = c.targets.salesforce;
  if (t.status === 'off' || t.status === 'deleted' || t.externalId !== ev.data.recordId) return c;
  if (c.desired === null || c.desired.deleted) return c;
  const { at } = ev;
  const set = (next: TargetState): C => ({ ...c, targets: { ...c.targets, salesforce: next } });
  switch (ev.data.policy) {
    case 'recreate':
      // An upsert by our id makes the record again; its outcome links the new one.
      return set({
        ...t,
        status: 'new',
        externalId: null,
        known: null,
        pending: null,
        attempts: 0,
      });
    case 'propagate': {
      const gone = set({ ...t, status: 'deleted', pending: null, attempts: 0 });
      return askDeletion(gone, 'salesforce', [`salesforce:deleted:${ev.data.recordId}`], at);
    }
    case 'unlink': {
      // The lookup that would find it again stands as the intent of the report, and of a redrive.
      const found = recordFind({ ...t, externalId: null }, env, at);
      return set(
        unlinked(
          { ...t, externalId: null, known: null, intentSeq: found.intentSeq },
          found.pending!,
          at,
          `record ${ev.data.recordId} was deleted in Salesforce; unlinked (RTWS_SALESFORCE_ON_REMOTE_DELETE=unlink): a retry upserts it again`,
        ),
      );
    }
  }
}
