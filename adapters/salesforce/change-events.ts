// Change Data Capture events as the reader of Salesforce's changes uses them: who made a change
// (`changeOrigin`: rtws's own writes name its client), the records someone else deleted, and the
// values an update event tells of the fields it changed. Pure: no calls, no state but what a
// ChangeOrigins is told.
import type { FieldPatch } from '../../core/policy/push.ts';
import { patchOfFields } from '../../core/policy/push.ts';
import type { ChangedRecord } from './changes.ts';
import { SALESFORCE_CALL_CLIENT } from './client.ts';
import { fieldsOfRecord, fieldsToldWhole, inboundSources } from './mapper.ts';
import { fieldMapOf, type SalesforceTarget } from './target.ts';

/** A change event's header, the parts the reader uses. */
interface ChangeEventHeader {
  readonly changeType?: string;
  readonly changedFields?: readonly string[];
  readonly recordIds?: readonly string[];
  readonly changeOrigin?: string;
  readonly commitTimestamp?: number;
}

function headerOf(event: unknown): ChangeEventHeader | undefined {
  return (event as { payload?: { ChangeEventHeader?: ChangeEventHeader } } | undefined)?.payload
    ?.ChangeEventHeader;
}

/**
 * The records a change event says someone other than rtws deleted: told at once rather than when
 * `getDeleted`, which counts whole minutes, lists them. rtws's own deletions are left to it.
 */
export function deletedByOthers(event: unknown): readonly string[] {
  const header = headerOf(event);
  if (header?.changeType !== 'DELETE' || typeof header.changeOrigin !== 'string') return [];
  return isOurOrigin(header.changeOrigin) ? [] : (header.recordIds ?? []);
}

/** A person's edit as its change event tells it, before any read of the record. */
export interface EditHeard {
  readonly recordId: string;
  readonly eventId: string;
  readonly fields: FieldPatch;
  readonly putBack: FieldPatch;
  readonly modifiedAt: number;
}

/**
 * The edits an UPDATE event made by anyone but rtws tells whole: the values of the mapped fields
 * it names as changed, for each record it names. Handed on at once, they reach the merge even
 * when a write of ours overwrites them before a read could see them. Fields told only in part
 * (a split name, an address) are left to the read of the record.
 */
export function editsHeard(target: SalesforceTarget, event: unknown): EditHeard[] {
  const header = headerOf(event);
  const payload = (event as { payload?: Record<string, unknown> }).payload;
  const replayId = (event as { event?: { replayId?: unknown } }).event?.replayId;
  const at = header?.commitTimestamp;
  if (header?.changeType !== 'UPDATE' || typeof header.changeOrigin !== 'string') return [];
  if (isOurOrigin(header.changeOrigin) || typeof at !== 'number' || !payload) return [];
  const map = fieldMapOf(target);
  const told = fieldsToldWhole(map, header.changedFields ?? []);
  if (told.length === 0) return [];
  const values = fieldsOfRecord(map, payload);
  const inbound = inboundSources(map);
  const fields = patchOfFields(
    values,
    told.filter((f) => inbound.includes(f)),
  );
  const putBack = patchOfFields(
    values,
    told.filter((f) => !inbound.includes(f)),
  );
  return (header.recordIds ?? []).map((recordId) => ({
    recordId,
    eventId: `salesforce:cdc:${String(replayId)}:${recordId}`,
    fields,
    putBack,
    modifiedAt: at,
  }));
}

/** `com/salesforce/api/rest/62.0;client=rtws`: a write made with rtws's `Sforce-Call-Options`. */
export function isOurOrigin(changeOrigin: string): boolean {
  return changeOrigin.split(';').some((part) => part.trim() === `client=${SALESFORCE_CALL_CLIENT}`);
}

/** How far a change event's commitTimestamp may be from the record's SystemModstamp. */
const COMMIT_SKEW_MS = 1_000;
/** Records whose recent change events are kept; the oldest are forgotten first. */
const ORIGINS_KEPT = 10_000;

/**
 * Who made each record's recent changes, as their change events said. A change event names the
 * client that made it (`changeOrigin`), where a read only has the last modifier: with events, an
 * edit made as the integration user through another tool is a person's, whatever its values.
 * A change no event told of (polling, or an event lost) is judged by its last modifier.
 */
export class ChangeOrigins {
  private readonly byRecord = new Map<
    string,
    { at: number; ours: boolean; changed: readonly string[] }[]
  >();

  /** A change event; gap and overflow events name no change of their own, and are left. */
  heard(event: unknown): void {
    const header = headerOf(event);
    const at = header?.commitTimestamp;
    if (!header || typeof at !== 'number' || typeof header.changeOrigin !== 'string') return;
    if (header.changeType?.startsWith('GAP_')) return;
    const ours = isOurOrigin(header.changeOrigin);
    const changed = header.changedFields ?? [];
    for (const id of header.recordIds ?? []) {
      const seen = this.byRecord.get(id) ?? [];
      this.byRecord.delete(id);
      this.byRecord.set(id, [...seen, { at, ours, changed }].slice(-8));
    }
    for (const id of this.byRecord.keys()) {
      if (this.byRecord.size <= ORIGINS_KEPT) break;
      this.byRecord.delete(id);
    }
  }

  /** The fields rtws's own writes to the record changed after `at`, as their events said. */
  writtenSince(recordId: string, at: number): string[] {
    return (this.byRecord.get(recordId) ?? [])
      .filter((e) => e.ours && e.at > at)
      .flatMap((e) => e.changed);
  }

  /**
   * Whether rtws made the change read as `r`: by its event when one told of it. An event can only
   * say that a change by the integration user was another tool's: a record last changed by
   * someone else was not changed by rtws, whatever event of ours is near (the other change's own
   * event may not have come yet).
   */
  byUs(r: ChangedRecord, us: string): boolean {
    if (r.lastModifiedById !== null && r.lastModifiedById !== us) return false;
    let nearest: { at: number; ours: boolean; changed: readonly string[] } | undefined;
    for (const e of this.byRecord.get(r.salesforceId) ?? []) {
      const off = Math.abs(e.at - r.modifiedAt);
      if (off <= COMMIT_SKEW_MS && (!nearest || off < Math.abs(nearest.at - r.modifiedAt)))
        nearest = e;
    }
    return nearest ? nearest.ours : r.lastModifiedById === us;
  }
}

/** `/data/AccountChangeEvent`; a custom object's `Foo__c` has `/data/Foo__ChangeEvent`. */
export function changeEventChannel(object: string): string {
  return `/data/${object.endsWith('__c') ? `${object.slice(0, -3)}__` : object}ChangeEvent`;
}
