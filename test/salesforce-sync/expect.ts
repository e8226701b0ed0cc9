// What Salesforce should hold for a set of customers under the default Account mapping, and how
// far the emulator's records are from it.
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import type { CustomerBody } from './api.ts';

const FIELDS = [
  'Name',
  'Phone',
  'BillingStreet',
  'BillingCity',
  'BillingState',
  'BillingPostalCode',
  'BillingCountry',
  'Rtws_Email__c',
] as const;

type Account = Record<(typeof FIELDS)[number], string | null>;

/** Written independently of the mapper on purpose: the suite checks the mapper, not itself. */
export function expectedAccount(c: CustomerBody): Account {
  const a = c.address;
  const street = a === null ? null : a.line2 ? `${a.line1 ?? ''}\n${a.line2}` : (a.line1 ?? null);
  return {
    Name: c.name,
    Phone: c.phone,
    BillingStreet: street,
    BillingCity: a?.city ?? null,
    BillingState: a?.state ?? null,
    BillingPostalCode: a?.postal_code ?? null,
    BillingCountry: a?.country ?? null,
    Rtws_Email__c: c.email?.toLowerCase() ?? null,
  };
}

const norm = (v: unknown): string | null =>
  v === undefined || v === null || v === '' ? null : typeof v === 'string' ? v : JSON.stringify(v);

/** Every difference between the live Accounts and the live customers, as readable lines. */
export function accountDiff(
  sf: SalesforceEmulator,
  live: ReadonlyMap<string, CustomerBody>,
): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  for (const r of sf.records('Account')) {
    const id = norm(r.Rtws_Id__c);
    if (id === null) continue;
    seen.set(id, (seen.get(id) ?? 0) + 1);
    const want = live.get(id);
    if (!want) {
      problems.push(`${id}: in Salesforce but deleted or unknown`);
      continue;
    }
    const expected = expectedAccount(want);
    for (const f of FIELDS)
      if (norm(r[f]) !== expected[f])
        problems.push(`${id}.${f}: ${JSON.stringify(r[f])} ≠ ${JSON.stringify(expected[f])}`);
  }
  for (const [id, n] of seen) if (n > 1) problems.push(`${id}: ${n} Accounts`);
  for (const id of live.keys()) if (!seen.has(id)) problems.push(`${id}: no Account`);
  return problems;
}

/** A customer with every mapped field set, varied by `i`. */
export function customerBody(i: number, tag: string): CustomerBody {
  return {
    name: `${tag} Customer ${i}`,
    email: `${tag.toLowerCase()}.${i}@example.com`,
    phone: `+1 555 ${String(i).padStart(4, '0')}`,
    address: {
      line1: `${i} Main St`,
      line2: i % 2 === 0 ? `Suite ${i}` : null,
      city: 'Springfield',
      state: 'IL',
      postal_code: String(62700 + (i % 100)),
      country: 'US',
    },
    metadata: { batch: tag },
  };
}
