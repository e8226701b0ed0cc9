// Reconciliation with Salesforce: every record that carries our external id, read with one SOQL
// query in Salesforce's pages of up to 2,000 (adapters/salesforce/read-back.ts), is compared with
// what the catalogue's values look like there (the same field map, there and back; a field mapped
// `from_salesforce` is never put back, so it is not compared):
// - `equal`: nothing to do;
// - `differs`: while Salesforce is only a target, the catalogue's values are put back. The record's
//   values are handed to the customer's actor (`SalesforceRecordObserved`), which then knows what
//   Salesforce holds and pushes what differs. A field a person changed there (the record's last
//   modifier is not the integration user) is recorded as a conflict the catalogue won, with reason
//   "salesforce is a target";
// - `orphan` (its external id names no catalogue customer), `deleted_in_catalogue`: reported;
// - `erased` (a record an erasure left there): reported, paired with no id of ours.
// Then the Salesforce links the read did not meet, each looked up by id: one in the recycle bin,
// `deleted_in_salesforce`, is handed to the actor under RTWS_SALESFORCE_ON_REMOTE_DELETE; one
// Salesforce does not know at all, `missing_in_salesforce`, is reported and deletes nothing.
import type { Connection } from 'jsforce';
import { differingFields, fieldValue } from '../../../core/canonical.ts';
import { patchOfFields } from '../../../core/policy/push.ts';
import type {
  RemoteDeletePolicy,
  SalesforceRecordMissing,
  SalesforceRecordObserved,
} from '../../../actors/customer/index.ts';
import { asChanged } from '../../../adapters/salesforce/changes.ts';
import { recordChanged } from '../inbound/salesforce-changes.ts';
import { archiveLink } from '../../../adapters/postgres/links.ts';
import { recordTargetConflict } from '../../../adapters/postgres/conflicts.ts';
import {
  catalogueRows,
  recordSeen,
  unseenLinks,
} from '../../../adapters/postgres/reconciliations.ts';
import {
  fieldsOfRecord,
  outboundSources,
  valuesOfFields,
} from '../../../adapters/salesforce/mapper.ts';
import {
  integrationUserId,
  readSalesforceRecords,
  recordsById,
  type SalesforceReadPage,
} from '../../../adapters/salesforce/read-back.ts';
import { fieldMapOf, type SalesforceTarget } from '../../../adapters/salesforce/target.ts';
import { publishTo } from './import-handover.ts';
import { behind, handOverRow, type Behind } from './reconcile-behind.ts';
import type { ReconcileDeps, ReconcilePage } from './reconcile.ts';
import { UUID } from './import-decisions.ts';
import { settle, type Found, type ReconcileDecision } from './reconcile-found.ts';
import { RECONCILE_EVENT_PREFIX } from '../../../actors/customer/index.ts';

export interface SalesforceReadDeps {
  readonly connection: () => Promise<Connection>;
  readonly target: SalesforceTarget;
  /** What a linked record deleted in Salesforce leads to (RTWS_SALESFORCE_ON_REMOTE_DELETE). */
  readonly onRemoteDelete: RemoteDeletePolicy;
  /** Records per page of the read (Salesforce's default and most: 2,000). */
  readonly batchSize?: number;
  /**
   * Salesforce's edits flow back (RTWS_SALESFORCE_POLL_S > 0): a difference is handed to the
   * actor as a change read from Salesforce, merged like the reader's, never put back blindly.
   */
  readonly readsBack?: boolean;
}

export const SALESFORCE_PHASE = 'salesforce:';
export const SALESFORCE_LINKS_PHASE = 'sflinks:';
const LINKS_PAGE = 100;
export const TARGET_REASON = "salesforce is a target: the catalogue's value is put back";

/**
 * Reads in progress, by reconciliation: the query's pages are read in turn, one per step, in `Id`
 * order. A process that restarts, takes a run over, or meets an error reads again after the last
 * record done (a new query), so a failed read never passes for a finished one.
 */
const reads = new Map<
  number,
  { pages: AsyncGenerator<SalesforceReadPage, void, undefined>; lastId: string; us: string }
>();

/** `<started ms>:<last record id>`: when the read began, and where it stands. */
function parse(rest: string): { startedMs: number; last: string } {
  const at = rest.indexOf(':');
  const startedMs = Number(at < 0 ? rest : rest.slice(0, at));
  return {
    startedMs: Number.isInteger(startedMs) && startedMs > 0 ? startedMs : Date.now(),
    last: at < 0 ? '' : rest.slice(at + 1),
  };
}

export async function salesforcePage(
  o: ReconcileDeps,
  runId: number,
  rest: string,
): Promise<ReconcilePage> {
  const sf = o.salesforce!;
  const { startedMs, last } = parse(rest);
  try {
    let read = reads.get(runId);
    if (!read || read.lastId !== last) {
      await read?.pages.return();
      const conn = await sf.connection();
      read = {
        pages: readSalesforceRecords(conn, sf.target, {
          ...(last ? { afterId: last } : {}),
          ...(sf.batchSize ? { batchSize: sf.batchSize } : {}),
        }),
        lastId: last,
        us: await integrationUserId(conn),
      };
      reads.set(runId, read);
    }
    // Each page is a call: it waits, like the rest of the run, behind live changes.
    await o.paced?.();
    const step = await read.pages.next();
    const page = step.done ? undefined : step.value;
    const found = page ? await comparePage(o, runId, page, read.us, sf.target) : [];
    const settled = await settle(o.sql, runId, found);
    read.lastId = page?.records.at(-1)?.salesforceId ?? last;
    if (!page || page.done) {
      reads.delete(runId);
      return { cursor: `${SALESFORCE_LINKS_PHASE}${startedMs}:`, more: true, ...settled };
    }
    return { cursor: `${SALESFORCE_PHASE}${startedMs}:${read.lastId}`, more: true, ...settled };
  } catch (err) {
    reads.delete(runId);
    throw err;
  }
}

async function comparePage(
  o: ReconcileDeps,
  runId: number,
  page: SalesforceReadPage,
  us: string,
  target: SalesforceTarget,
): Promise<Found[]> {
  const map = fieldMapOf(target);
  const outbound = outboundSources(map);
  const ids = page.records.map((r) => r.externalId).filter((id) => UUID.test(id));
  const rows = await catalogueRows(o.sql, ids);
  const found: Found[] = [];
  for (const r of page.records) {
    const row = UUID.test(r.externalId) ? rows.get(r.externalId) : undefined;
    const report = (decision: ReconcileDecision, detail: string): Found => ({
      sample: { id: r.salesforceId, decision, reason: detail },
      difference: {
        target: 'salesforce',
        customerId: row ? r.externalId : null,
        externalId: r.salesforceId,
        kind: decision,
        fields: [],
        detail,
      },
    });
    const behindFound = async (b: Behind, fields: string[]): Promise<Found> => {
      await handOverRow(o, runId, b);
      return {
        sample: { id: r.salesforceId, decision: 'catalogue_behind', reason: b.detail },
        difference: {
          target: 'salesforce',
          customerId: r.externalId,
          externalId: r.salesforceId,
          kind: 'catalogue_behind',
          fields,
          detail: b.detail,
        },
      };
    };
    if (!row) {
      const b = UUID.test(r.externalId)
        ? await behind(o.actorKnows, r.externalId, undefined, null)
        : undefined;
      found.push(
        b
          ? await behindFound(b, [])
          : report('orphan', `its ${target.externalIdField} names no catalogue customer`),
      );
      continue;
    }
    // Left in Salesforce by an erasure (RTWS_ERASE_REMOTE=false, or its delete gave up): reported
    // without the erased customer's id, which the erasure removed from every pairing.
    if (row.erased) {
      const detail = 'belongs to a customer since erased: left as it is';
      found.push({
        sample: { id: r.salesforceId, decision: 'erased', reason: detail },
        difference: {
          target: 'salesforce',
          customerId: null,
          externalId: r.salesforceId,
          kind: 'erased',
          fields: [],
          detail,
        },
      });
      continue;
    }
    if (row.deleted) {
      found.push(report('deleted_in_catalogue', 'deleted in the catalogue, still in Salesforce'));
      continue;
    }
    // What the catalogue's values look like in Salesforce: unmapped values are not compared, nor
    // are those that only flow from Salesforce (the catalogue never puts them back).
    const expected = fieldsOfRecord(map, valuesOfFields(map, row.fields));
    const fields = differingFields(expected, r.fields).filter((f) => outbound.includes(f));
    if (fields.length === 0) {
      found.push({ sample: { id: r.salesforceId, decision: 'equal', reason: 'the same in both' } });
      continue;
    }
    // A restored row is not the catalogue's word: its actor brings it forward first.
    const b = await behind(o.actorKnows, r.externalId, row, null);
    if (b) {
      found.push(await behindFound(b, fields));
      continue;
    }
    const byPerson = r.lastModifiedById !== null && r.lastModifiedById !== us;
    const edited = `${fields.join(', ')} differ${byPerson ? ' (edited in Salesforce)' : ''}`;
    const differs = (detail: string): Found => ({
      sample: { id: r.salesforceId, decision: 'differs', reason: detail },
      difference: {
        target: 'salesforce',
        customerId: r.externalId,
        externalId: r.salesforceId,
        kind: 'differs',
        fields,
        detail,
      },
    });
    const foundBy = `${RECONCILE_EVENT_PREFIX}${runId}:${r.salesforceId}`;
    await o.paced?.();
    if (o.salesforce?.readsBack) {
      // As the reader would hand it (the same event id): the actor merges it, or drops our echo.
      // Put back here, a person's edit the reader had yet to hand on would be overwritten.
      const changed = recordChanged(
        asChanged(target, r),
        r.lastModifiedById === us,
        page.queriedAt,
      );
      await publishTo(o, r.externalId, changed, changed.data.eventId);
      found.push(differs(`${edited}: handed to the customer's actor, which merges them`));
      continue;
    }
    const observed: SalesforceRecordObserved = {
      type: 'SalesforceRecordObserved',
      data: { recordId: r.salesforceId, held: patchOfFields(r.fields, fields) },
      at: 0,
    };
    await publishTo(o, r.externalId, observed, `salesforce:${foundBy}`);
    if (byPerson)
      for (const field of fields)
        await recordTargetConflict(o.sql, {
          customerId: r.externalId,
          target: 'salesforce',
          field,
          postgres: fieldValue(expected, field),
          held: fieldValue(r.fields, field),
          reason: TARGET_REASON,
          foundBy,
        });
    found.push(differs(`${edited}: the catalogue's values are put back`));
  }
  await recordSeen(
    o.sql,
    runId,
    'salesforce',
    page.records.map((r) => r.salesforceId),
  );
  return found;
}

/**
 * Salesforce links the read did not meet, made before it began. Each record is looked up by id,
 * the recycle bin included: one deleted is handed to the customer's actor with the policy, and
 * under `unlink` the link is archived once the actor has been told; one that exists but no longer
 * carries the customer's id, or that Salesforce does not know at all, is reported, and nothing is
 * done (only an explicit deletion deletes).
 */
export async function salesforceLinksPage(
  o: ReconcileDeps,
  runId: number,
  rest: string,
): Promise<ReconcilePage> {
  const sf = o.salesforce!;
  const { startedMs, last } = parse(rest);
  const links = await unseenLinks(
    o.sql,
    runId,
    'salesforce',
    last || null,
    LINKS_PAGE,
    new Date(startedMs),
  );
  if (links.length > 0) await o.paced?.();
  const held =
    links.length === 0
      ? new Map<string, { deleted: boolean; externalId: string | null }>()
      : await recordsById(
          await sf.connection(),
          sf.target,
          links.map((l) => l.externalId),
        );
  const found: Found[] = [];
  for (const { customerId, externalId } of links) {
    const record = held.get(externalId);
    if (record && !record.deleted && record.externalId === customerId) {
      found.push({
        sample: {
          id: externalId,
          decision: 'equal',
          reason: 'found by its id: it changed during the read',
        },
      });
      continue;
    }
    // Only a record Salesforce says is deleted counts as one; a record it does not know at all
    // (purged, hidden from rtws's user by sharing, or of another object) is a broken link.
    const kind: ReconcileDecision = !record
      ? 'missing_in_salesforce'
      : record.deleted
        ? 'deleted_in_salesforce'
        : 'external_id_changed';
    const detail = {
      external_id_changed: `the record exists but no longer carries the customer's id in ${sf.target.externalIdField}: reported; nothing was done`,
      missing_in_salesforce: `linked, but Salesforce has no such ${sf.target.object}, recycle bin included (purged, hidden from rtws's user, or of another object): reported; nothing was deleted`,
      deleted_in_salesforce: `deleted in Salesforce: ${POLICY[sf.onRemoteDelete]}`,
    }[kind];
    if (kind === 'deleted_in_salesforce') {
      const missing: SalesforceRecordMissing = {
        type: 'SalesforceRecordMissing',
        data: { recordId: externalId, policy: sf.onRemoteDelete },
        at: 0,
      };
      await publishTo(
        o,
        customerId,
        missing,
        `salesforce:${RECONCILE_EVENT_PREFIX}${runId}:${externalId}:missing`,
      );
      if (sf.onRemoteDelete === 'unlink')
        await archiveLink(o.sql, customerId, 'salesforce', externalId);
    }
    found.push({
      sample: { id: externalId, decision: kind, reason: detail },
      difference: { target: 'salesforce', customerId, externalId, kind, fields: [], detail },
    });
  }
  const more = links.length === LINKS_PAGE;
  return {
    cursor: more ? `${SALESFORCE_LINKS_PHASE}${startedMs}:${links.at(-1)!.customerId}` : null,
    more,
    ...(await settle(o.sql, runId, found)),
  };
}

const POLICY: Record<RemoteDeletePolicy, string> = {
  unlink:
    'the link is archived and the customer unlinked there (RTWS_SALESFORCE_ON_REMOTE_DELETE=unlink)',
  recreate: 'the record is upserted again (RTWS_SALESFORCE_ON_REMOTE_DELETE=recreate)',
  propagate: 'the customer is deleted everywhere (RTWS_SALESFORCE_ON_REMOTE_DELETE=propagate)',
};
