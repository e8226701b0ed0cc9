// What a reconciliation found in Salesforce, handed to the customer's actor. While Salesforce is
// only a target, a field edited there is put back: the target learns what the record holds, and
// the push rule sends the catalogue's values again, as for any target that holds other values.
import { Type, type Static } from '@sinclair/typebox';
import { applyPatch } from '../../core/policy/push.ts';
import type { TargetState } from './context.ts';
import { FieldPatchSchema, recordedEvent } from './schemas.ts';

export const SalesforceRecordObserved = recordedEvent('SalesforceRecordObserved', {
  /** The record read, by its Salesforce id. */
  recordId: Type.String({ minLength: 1 }),
  /** The fields whose values the record holds differ from the catalogue's: the record's values. */
  held: FieldPatchSchema,
});
export type SalesforceRecordObserved = Static<typeof SalesforceRecordObserved>;

/**
 * The record holds `held`: known from now on, so the next plan pushes what differs. A record of
 * another link (the customer was linked again since the read), or a target deleted or off, is left.
 */
export function onSalesforceHeld(t: TargetState, ev: SalesforceRecordObserved): TargetState {
  if (t.status === 'off' || t.status === 'deleted' || t.externalId !== ev.data.recordId) return t;
  if (t.known === null) return t;
  return { ...t, known: applyPatch(t.known, ev.data.held) };
}
