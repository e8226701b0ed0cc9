// Carries out one recorded Salesforce intent with jsforce and reports its outcome as an event.
// Creates are upserts by our customer id on the external-id field, so a resend after any failure
// finds the record an earlier try made rather than making a second one. Updates go to the linked
// record by its Salesforce id: a record deleted in Salesforce (or whose external id someone
// cleared) answers NOT_FOUND or ENTITY_IS_DELETED, a broken link that deletes nothing, where an
// upsert would have made a second record holding only the patch.
import type { Connection } from 'jsforce';
import {
  madeSinceCreate,
  type SalesforceIntent,
  type SalesforceOutcomeEvent,
} from '../../actors/customer/index.ts';
import { modstampMs } from './changes.ts';
import { classifySalesforceError, type ClassifiedFailure } from './classify.ts';
import { isEmptyPatch, movedUnder, patchFieldNames, pickFields } from '../../core/policy/push.ts';
import {
  fieldsOfRecord,
  inboundSources,
  mappedFieldNames,
  outboundSources,
  valuesOfFields,
  valuesOfPatch,
} from './mapper.ts';
import type { SalesforceValues } from './mapper.ts';
import {
  failedOutcome,
  fieldMapOf,
  type Clock,
  type SalesforceTarget,
  type SalesforceWork,
} from './target.ts';

/**
 * The record a create's upsert or an update sends: the mapped values plus our id in the
 * external-id field (an update puts it back should someone have cleared it).
 */
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
    return failedOutcome(
      work.intent,
      racedOnOurId(target, work, classifySalesforceError(err)),
      now(),
    );
  }
}

/**
 * A create's upsert refused as a duplicate of our own id: another try of the same create ran at
 * once (a resend after a timeout while Salesforce still ran the first), and made the record. Sent
 * again, the upsert finds it; it is no mistake in the request.
 */
export function racedOnOurId(
  target: SalesforceTarget,
  { intent }: SalesforceWork,
  classified: ClassifiedFailure,
): ClassifiedFailure {
  const duplicate =
    intent.type === 'CreateSalesforceAccount' &&
    classified.failure === 'permanent' &&
    classified.reason.startsWith('DUPLICATE_VALUE') &&
    classified.reason.includes(target.externalIdField);
  return duplicate ? { ...classified, failure: 'transient' } : classified;
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
      const result =
        intent.type === 'UpdateSalesforceAccount'
          ? await conn.update(target.object, { ...record, Id: intent.params.externalId })
          : await conn.upsert(target.object, record, target.externalIdField);
      if (!result.success) throw new UpsertRejected(result.errors);
      return upsertedOutcome(intent, result.id ?? '', now());
    }
    case 'DeleteSalesforceAccount': {
      await conn.destroy(target.object, intent.params.externalId);
      return { type: 'SalesforceAccountDeleted', data: done, at: now() };
    }
    case 'FindSalesforceAccount': {
      // The field is unique, so there is at most one live record carrying our id.
      const { rtwsId } = intent.params;
      const found = (await findByExternalIds(conn, target, [rtwsId])).get(rtwsId);
      if (found === undefined) return { type: 'SalesforceAccountNotFound', data: done, at: now() };
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

/**
 * How long a push held for the read of a person's edit waits before it checks again. Longer than
 * Stripe's: each check is a call counted against the org's daily allocation, and the read that
 * brings the edit comes every `RTWS_SALESFORCE_POLL_S` (or within a second with change events).
 */
export const HELD_SALESFORCE_PUSH_RETRY_MS = 5_000;

/**
 * A push decided before a restart or a takeover, or resent after a failure, may overwrite an edit
 * a person made in Salesforce meanwhile, and the echo rule would then take the record's new values
 * for our own. Before sending it, the record is read: when a field the push sets holds neither the
 * value the push was decided against nor the one it sends, the push is held (`target_moved`) until
 * the read of Salesforce's changes brings that edit, which decides the push again with the edit's
 * time. Only fields mapped `both` are checked: one mapped `to_salesforce` is the catalogue's alone
 * and is overwritten as ever, and one mapped `from_salesforce` is never written. A record that is
 * gone is the write's business. A create resent is checked the same way, against the values it
 * sends: the record an earlier try made holds them unless someone edited it since. One query
 * reads the records of all the pushes given.
 */
export async function movedSinceDecided(
  conn: Connection,
  works: readonly SalesforceWork[],
  target: SalesforceTarget,
  now: Clock = Date.now,
): Promise<(SalesforceOutcomeEvent | undefined)[]> {
  const map = fieldMapOf(target);
  const outbound = outboundSources(map);
  const flowing = inboundSources(map).filter((f) => outbound.includes(f));
  const checks = works.map(({ intent }) => {
    // A create resent: the record an earlier try made holds what the create sent, unless someone
    // edited it since. The read brings that edit, and links the record (see `landedCreate` in
    // the actor); sent again, the create would undo it.
    const { base, patch } =
      intent.type === 'CreateSalesforceAccount'
        ? { base: intent.params, patch: intent.params }
        : intent.type === 'UpdateSalesforceAccount'
          ? intent.params
          : {};
    if (base === undefined || patch === undefined) return undefined;
    const sent = pickFields(
      patch,
      patchFieldNames(patch).filter((f) => flowing.includes(f)),
    );
    return isEmptyPatch(sent) ? undefined : { base, sent };
  });
  const ids = works.filter((_, i) => checks[i] !== undefined).map((w) => w.customerId);
  const records =
    ids.length > 0 ? await findByExternalIds(conn, target, ids) : new Map<string, FoundRecord>();
  return works.map(({ customerId, intent }, i) => {
    const check = checks[i];
    const found = records.get(customerId);
    // A record that is gone is the write's business, as for any push (an update's by Id answers
    // that it is gone).
    if (check === undefined || found === undefined) return undefined;
    // A record older than the create is not its own (an import stamped our id on it, or the
    // target was bound to an org that had it): the upsert lands on it, as it always did.
    if (intent.type === 'CreateSalesforceAccount' && !madeSince(found, intent.recordedAt))
      return undefined;
    const moved = movedUnder(check.base, check.sent, fieldsOfRecord(map, found));
    if (moved.length === 0) return undefined;
    return {
      type: 'SalesforceCallFailed',
      data: {
        intentId: intent.id,
        failure: 'target_moved',
        reason: `not sent: ${moved.join(', ')} changed on Salesforce since this push was decided; waiting for the read that brings the edit`,
        attempt: intent.attempt,
        retryAfterMs: HELD_SALESFORCE_PUSH_RETRY_MS,
      },
      at: now(),
    };
  });
}

/** Whether the record was made once the intent was recorded, by Salesforce's clock. */
function madeSince(found: FoundRecord, recordedAt: number): boolean {
  const created = typeof found.CreatedDate === 'string' ? modstampMs(found.CreatedDate) : NaN;
  return madeSinceCreate(created, recordedAt);
}

/** Whether a push is one `movedSinceDecided` would read the record for. */
export function needsMovedCheck({ intent }: SalesforceWork): boolean {
  if (intent.type === 'CreateSalesforceAccount') return true;
  return intent.type === 'UpdateSalesforceAccount' && intent.params.base !== undefined;
}

interface FoundRecord extends Record<string, unknown> {
  Id: string;
}

/** The live records carrying these customer ids, by id: one query per 200. */
async function findByExternalIds(
  conn: Connection,
  target: SalesforceTarget,
  customerIds: readonly string[],
): Promise<Map<string, FoundRecord>> {
  const fields = [
    ...new Set([
      'Id',
      'CreatedDate',
      target.externalIdField,
      ...mappedFieldNames(fieldMapOf(target)),
    ]),
  ];
  const extField = target.externalIdField.toLowerCase();
  const out = new Map<string, FoundRecord>();
  const unique = [...new Set(customerIds)];
  for (let i = 0; i < unique.length; i += MAX_IDS_A_QUERY) {
    const records = await conn
      .sobject(target.object)
      .find({ [target.externalIdField]: { $in: unique.slice(i, i + MAX_IDS_A_QUERY) } }, fields)
      .execute();
    for (const r of records as Record<string, unknown>[]) {
      const ext = Object.entries(r).find(([k]) => k.toLowerCase() === extField)?.[1];
      if (typeof ext === 'string' && typeof r.Id === 'string') out.set(ext, r as FoundRecord);
    }
  }
  return out;
}

/** Ids in one `IN (…)`: well within SOQL's statement length, as a Collections request's records. */
const MAX_IDS_A_QUERY = 200;

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
