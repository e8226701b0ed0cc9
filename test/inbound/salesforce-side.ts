// The Salesforce side of the two-way stack as the convergence property sees it: the customer's
// Account in the emulator, a person's edit of it, the mapped values compared with the catalogue's,
// and the emulator's counters that tell rtws's writes and its reader's reads.
import { canonicalEmail, canonicalString } from '../../core/canonical.ts';
import { eventually } from '../harness/stream.ts';
import { expectedAccount } from '../salesforce-sync/expect.ts';
import type { Row, TwoWay } from './stack.ts';

export type AccountRecord = Record<string, unknown>;

/** A person's edit in Salesforce, of the Account fields the default map carries both ways. */
export interface SalesforceEdit {
  name?: string;
  email?: string;
  phone?: string;
}

/** The Accounts carrying this customer's id; with `includeDeleted`, those in the recycle bin too. */
export function accountsFor(s: TwoWay, id: string, includeDeleted = false): AccountRecord[] {
  return s.sf!.records('Account', { includeDeleted }).filter((r) => r.Rtws_Id__c === id);
}

/** The customer's Account once rtws has created it. */
export async function salesforceLinked(s: TwoWay, id: string, timeoutMs = 10_000) {
  const account = await eventually(
    () => Promise.resolve(accountsFor(s, id)[0]),
    (a) => a !== undefined,
    timeoutMs,
  );
  if (!account) throw new Error(`customer ${id} never reached Salesforce`);
  return String(account.Id);
}

/** Edits the Account as a person in Salesforce's UI would: no API call, an empty changeOrigin. */
export function editInSalesforce(s: TwoWay, accountId: string, edit: SalesforceEdit): void {
  const fields: Record<string, string> = {};
  if (edit.name) fields.Name = edit.name;
  if (edit.email) fields.Rtws_Email__c = edit.email;
  if (edit.phone) fields.Phone = edit.phone;
  if (Object.keys(fields).length > 0) s.sf!.editAsPerson('Account', accountId, fields);
}

const canonical = (field: string, v: unknown): string | null => {
  const text = typeof v === 'string' ? v : v === undefined || v === null ? null : JSON.stringify(v);
  return field === 'Rtws_Email__c' ? canonicalEmail(text) : canonicalString(text);
};

/**
 * The mapped Account fields a catalogue row should give, canonical, written apart from rtws's
 * mapper (`expectedAccount`) so that the property checks the mapper too.
 */
export function accountOfRow(r: Row): Record<string, string | null> {
  const want = expectedAccount({ ...r, address: r.address, metadata: {} });
  return Object.fromEntries(Object.entries(want).map(([f, v]) => [f, canonical(f, v)]));
}

/** The same fields as the Account holds them, canonical. */
export function mappedOfAccount(a: AccountRecord): Record<string, string | null> {
  return Object.fromEntries(
    Object.keys(accountOfRow(EMPTY_ROW)).map((f) => [f, canonical(f, a[f])]),
  );
}

const EMPTY_ROW: Row = {
  id: '',
  name: '',
  email: null,
  phone: null,
  address: null,
  metadata: {},
  version: 0,
  origin: '',
  deleted_at: null,
};

const WRITES = /^(sobject|collections)\.(create|update|upsert|delete)$/;

/** Writes through Salesforce's API so far (a person's edits are no API call). */
export function salesforceWrites(s: TwoWay): number {
  return Object.entries(s.sf!.stats().callsByEndpoint)
    .filter(([endpoint]) => WRITES.test(endpoint))
    .reduce((n, [, calls]) => n + calls, 0);
}

/**
 * Reads of Salesforce's changes that rtws has finished: each read queries the changed records,
 * hands each to its actor, and only then asks for the deleted ones (`sobject.deleted`), its last
 * call. Reads run one at a time, so once this count has risen by two since a moment, a whole read
 * began after it.
 */
export function salesforceReads(s: TwoWay): number {
  return s.sf!.stats().callsByEndpoint['sobject.deleted'] ?? 0;
}

interface ChangeHeader {
  recordIds: string[];
  changeType: string;
  changeOrigin: string;
}

/** The Account's change events, oldest first, one line each: what a write loop's report shows. */
export function changesOf(s: TwoWay, accountId: string): string[] {
  const lines: string[] = [];
  for (const e of s.sf!.changeEvents()) {
    const { ChangeEventHeader, ...values } = e.payload;
    const h = ChangeEventHeader as ChangeHeader;
    if (!h.recordIds.includes(accountId)) continue;
    const by = h.changeOrigin === '' ? 'person' : h.changeOrigin;
    lines.push(`${e.event.replayId} ${h.changeType} by=${by} ${JSON.stringify(values)}`);
  }
  return lines;
}
