// Change events as Salesforce renders them for CometD: a ChangeEventHeader plus the record part.
// One committed transaction gives one event per write, sharing the transactionKey and numbered by
// sequenceNumber. Salesforce sometimes merges identical changes of one transaction into one event
// with several recordIds; the emulator never does, but gap events may name several records.
import { randomBytes } from 'node:crypto';
import type { ObjectDef } from '../schema.ts';
import type { RecordChange } from '../store.ts';
import type { EventDraft } from './bus.ts';
import { recordPart, schemaId } from './payload.ts';

export type RecordChangeType = RecordChange['kind'];
export type GapChangeType = 'GAP_CREATE' | 'GAP_UPDATE' | 'GAP_DELETE' | 'GAP_UNDELETE';
export type ChangeType = RecordChangeType | GapChangeType | 'GAP_OVERFLOW';

/** The header every change event carries, in the order Salesforce's CometD messages show it. */
export interface ChangeEventHeader {
  readonly entityName: string;
  readonly recordIds: readonly string[];
  readonly changeType: ChangeType;
  /** `com/salesforce/api/rest/62.0;client=rtws` for an API write; empty for a person in the UI. */
  readonly changeOrigin: string;
  readonly transactionKey: string;
  readonly sequenceNumber: number;
  /** Epoch milliseconds. */
  readonly commitTimestamp: number;
  readonly commitUser: string;
  readonly commitNumber: number;
  readonly changedFields: readonly string[];
}

/** Salesforce's empty record id, which an overflow event names instead of records. */
export const EMPTY_RECORD_ID = '000000000000000AAA';

/** Shaped like Salesforce's keys, e.g. `0002343d-9d90-e395-ed20-cf416ba652ad`. */
function transactionKey(): string {
  const hex = `000${randomBytes(15).toString('hex')}`.slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The events of one committed transaction, in write order. */
export function transactionEvents(
  origin: string,
  changes: readonly RecordChange[],
  commitNumber: number,
): EventDraft[] {
  const key = transactionKey();
  const commitTimestamp = Math.max(...changes.map((c) => c.at));
  return changes.map((change, index) => {
    const part = recordPart(change);
    const header: ChangeEventHeader = {
      entityName: change.object.name,
      recordIds: [change.recordId],
      changeType: change.kind,
      changeOrigin: origin,
      transactionKey: key,
      sequenceNumber: index + 1,
      commitTimestamp,
      commitUser: change.userId,
      commitNumber,
      changedFields: part.changedFields,
    };
    return draft(change.object, header, part.fields);
  });
}

export interface HeaderOnlyEvent {
  readonly object: ObjectDef;
  readonly changeType: GapChangeType | 'GAP_OVERFLOW';
  readonly recordIds: readonly string[];
  readonly commitUser: string;
  readonly changeOrigin: string;
}

/** A gap or overflow event: the header alone, so the subscriber must read the records itself. */
export function headerOnlyEvent(
  spec: HeaderOnlyEvent,
  commitNumber: number,
  at: number,
): EventDraft {
  return draft(
    spec.object,
    {
      entityName: spec.object.name,
      recordIds: spec.recordIds,
      changeType: spec.changeType,
      changeOrigin: spec.changeOrigin,
      transactionKey: transactionKey(),
      sequenceNumber: 1,
      commitTimestamp: at,
      commitUser: spec.commitUser,
      commitNumber,
      changedFields: [],
    },
    {},
  );
}

function draft(
  object: ObjectDef,
  header: ChangeEventHeader,
  fields: Record<string, unknown>,
): EventDraft {
  return {
    entityName: object.name,
    schema: schemaId(object),
    payload: { ChangeEventHeader: header, ...fields },
  };
}
