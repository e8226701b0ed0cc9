// Carries out one recorded Salesforce intent with jsforce and reports its outcome as an event.
// Creates and updates are upserts by our customer id on the external-id field, so a resend after
// any failure finds the record an earlier try made rather than making a second one.
import type { Connection } from 'jsforce';
import type { SalesforceIntent, SalesforceOutcomeEvent } from '../../actors/customer/index.ts';
import { classifySalesforceError } from './classify.ts';
import { fieldsOfRecord, mappedFieldNames, valuesOfFields, valuesOfPatch } from './mapper.ts';
import type { SalesforceValues } from './mapper.ts';
import {
  failedOutcome,
  fieldMapOf,
  type Clock,
  type SalesforceTarget,
  type SalesforceWork,
} from './target.ts';

/** The record an upsert sends: the mapped values plus our id in the external-id field. */
export function upsertRecord(
  target: SalesforceTarget,
  { customerId, intent }: SalesforceWork,
): SalesforceValues | null {
  const map = fieldMapOf(target);
  switch (intent.type) {
    case 'CreateSalesforceAccount':
      return { ...valuesOfFields(map, intent.params), [target.externalIdField]: customerId };
    case 'UpdateSalesforceAccount': {
      const values = valuesOfPatch(map, intent.params.patch);
      return Object.keys(values).length === 0
        ? {}
        : { ...values, [target.externalIdField]: customerId };
    }
    case 'DeleteSalesforceAccount':
    case 'FindSalesforceAccount':
      return null;
    default: {
      const never: never = intent;
      throw new Error(`unknown intent ${JSON.stringify(never)}`);
    }
  }
}

/** The outcome of a successful upsert of this work's intent. */
export function upsertedOutcome(
  intent: SalesforceIntent,
  salesforceId: string,
  at: number,
): SalesforceOutcomeEvent {
  return intent.op === 'create'
    ? {
        type: 'SalesforceAccountCreated',
        data: { intentId: intent.id, externalId: salesforceId },
        at,
      }
    : { type: 'SalesforceAccountUpdated', data: { intentId: intent.id }, at };
}

export async function executeSalesforceIntent(
  conn: Connection,
  work: SalesforceWork,
  target: SalesforceTarget,
  now: Clock = Date.now,
): Promise<SalesforceOutcomeEvent> {
  try {
    return await run(conn, work, target, now);
  } catch (err) {
    return failedOutcome(work.intent, classifySalesforceError(err), now());
  }
}

async function run(
  conn: Connection,
  work: SalesforceWork,
  target: SalesforceTarget,
  now: Clock,
): Promise<SalesforceOutcomeEvent> {
  const { intent } = work;
  const done = { intentId: intent.id };
  switch (intent.type) {
    case 'CreateSalesforceAccount':
    case 'UpdateSalesforceAccount': {
      const record = upsertRecord(target, work) ?? {};
      // A patch of values Salesforce does not hold (unmapped metadata) costs no call.
      if (Object.keys(record).length === 0) return upsertedOutcome(intent, '', now());
      const result = await conn.upsert(target.object, record, target.externalIdField);
      if (!result.success) throw new UpsertRejected(result.errors);
      return upsertedOutcome(intent, result.id, now());
    }
    case 'DeleteSalesforceAccount': {
      await conn.destroy(target.object, intent.params.externalId);
      return { type: 'SalesforceAccountDeleted', data: done, at: now() };
    }
    case 'FindSalesforceAccount': {
      const found = await findByExternalId(conn, target, intent.params.rtwsId);
      if (found === null) return { type: 'SalesforceAccountNotFound', data: done, at: now() };
      return {
        type: 'SalesforceAccountFound',
        data: { ...done, externalId: found.Id, fields: fieldsOfRecord(fieldMapOf(target), found) },
        at: now(),
      };
    }
    default: {
      const never: never = intent;
      throw new Error(`unknown intent ${JSON.stringify(never)}`);
    }
  }
}

interface FoundRecord extends Record<string, unknown> {
  Id: string;
}

/** The live record carrying our id, if any; the field is unique, so there is at most one. */
async function findByExternalId(
  conn: Connection,
  target: SalesforceTarget,
  customerId: string,
): Promise<FoundRecord | null> {
  const fields = ['Id', ...mappedFieldNames(fieldMapOf(target))];
  const records = await conn
    .sobject(target.object)
    .find({ [target.externalIdField]: customerId }, fields)
    .limit(1)
    .execute();
  const first = records[0] as Record<string, unknown> | undefined;
  return first && typeof first.Id === 'string' ? (first as FoundRecord) : null;
}

/** A single upsert that answered without throwing yet did not save: carries Salesforce's code. */
export class UpsertRejected extends Error {
  readonly code = 'SALESFORCE_UPSERT_REJECTED';
  readonly errorCode: string | undefined;

  constructor(errors: readonly { errorCode?: string; statusCode?: string; message?: string }[]) {
    const first = errors[0];
    super(first?.message ?? 'upsert rejected');
    this.name = 'UpsertRejected';
    this.errorCode = first?.errorCode ?? first?.statusCode;
  }
}
