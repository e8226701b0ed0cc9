// One stream message of a customer's history as the timeline shows it: when, what kind, from where,
// and a short summary. Summaries name fields, ids and reasons, never a field's value: the
// timeline is read by operators and shown in the console, and the values are on the customer.
import type { RecordedMessage } from '../../../adapters/jetstream/customer-history.ts';

export type TimelineKind =
  'fact' | 'observation' | 'decision' | 'request' | 'outcome' | 'stripe_event';

export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  /** Where it came from: a fact's origin (`api`, `stripe`, …), the target, or `operator`. */
  origin: string;
  /** The message type: `CustomerUpdated`, `StripeCustomerCreated`, `customer.updated`, … */
  type: string;
  summary: string;
  stream: string;
  seq: number;
  subject: string;
  /** The change it belongs to (see core/correlation.ts); absent when its message has none. */
  correlation_id?: string;
}

type Data = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const fields = (v: unknown) => (Array.isArray(v) && v.length > 0 ? ` (${v.join(', ')})` : '');

const FACTS: Record<string, string> = {
  CustomerCreated: 'created',
  CustomerUpdated: 'updated',
  CustomerDeleted: 'deleted',
};

/** Outcome events end in these; the rest of the name is the object (`StripeCustomer`, …). */
const OUTCOMES: [string, (d: Data) => string][] = [
  ['Created', (d) => `created ${str(d.externalId)}`],
  ['Updated', () => 'updated'],
  ['Deleted', () => 'deleted'],
  ['NotFound', () => 'not found by the lookup'],
  ['Found', (d) => `found ${str(d.externalId)} by the lookup`],
  [
    'CallFailed',
    (d) => `call failed (${str(d.failure)}, attempt ${String(d.attempt)}): ${str(d.reason)}`,
  ],
];

const keysOf = (v: unknown) => (v && typeof v === 'object' ? Object.keys(v) : []);
const targetOf = (type: string) => (type.startsWith('Salesforce') ? 'salesforce' : 'stripe');

function recorded(type: string, d: Data): Pick<TimelineEntry, 'kind' | 'origin' | 'summary'> {
  const intent = d.intentId ? ` for intent ${str(d.intentId)}` : '';
  switch (type) {
    case 'RetryRequested':
      return { kind: 'request', origin: 'operator', summary: `retry of ${str(d.target)} asked` };
    case 'StripeCustomerObserved':
      return {
        kind: 'observation',
        origin: 'stripe',
        summary: `${str(d.eventType)} ${str(d.eventId)} on ${str(d.stripeId)}${fields(d.changed)}`,
      };
    case 'StripeCustomerMatched':
    case 'SalesforceRecordAdopted':
      return {
        kind: 'decision',
        origin: targetOf(type),
        summary: `linked to ${str(d.stripeId ?? d.recordId)}, ${str(d.policy)} values kept${intent}`,
      };
    case 'StripeCustomerFetched':
      return {
        kind: 'outcome',
        origin: 'stripe',
        summary: `${d.fields === null ? 'gone from Stripe' : 'fetched'}${intent}`,
      };
    case 'CatalogueApplied':
      return {
        kind: 'decision',
        origin: 'rtws',
        summary: d.error
          ? `Postgres refused the write${intent}: ${str(d.error)}`
          : `Postgres written${d.version === null ? '' : ` (v${Number(d.version)})`}${intent}`,
      };
    case 'SalesforceRecordObserved':
    case 'SalesforceRecordChanged':
    case 'SalesforceRecordMissing':
    case 'CatalogueRowObserved':
      return {
        kind: 'observation',
        origin: type.startsWith('Catalogue') ? 'postgres' : 'salesforce',
        summary:
          `${type.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()} ${str(d.recordId)}${fields(keysOf(d.held ?? d.fields))}`.trimEnd(),
      };
  }
  const outcome = OUTCOMES.find(([suffix]) => type.endsWith(suffix));
  // `StripeCustomer` → `Stripe customer`.
  const noun = (outcome ? type.slice(0, -outcome[0].length) : type).replace(
    /([a-z])([A-Z])/g,
    (_, a: string, b: string) => `${a} ${b.toLowerCase()}`,
  );
  return {
    kind: 'outcome',
    origin: targetOf(type),
    summary: outcome ? `${noun} ${outcome[1](d)}${intent}` : type,
  };
}

/** A change made by a write the actor asked for names it: that change reports the write done. */
function written(tag: string | undefined): string {
  return tag ? `, by the write for intent ${tag.slice(0, tag.lastIndexOf('@'))}` : '';
}

/** A message of the customer's CHANGES subject: a captured change or a recorded event. */
export function changeEntry(stream: string, r: RecordedMessage): TimelineEntry {
  const m = (r.message ?? {}) as {
    type?: string;
    data?: Data;
    metadata?: { version?: number; origin?: string; changed?: string[]; write?: string };
  };
  const type = m.type ?? '(unreadable)';
  const base = {
    at: new Date(r.at).toISOString(),
    type,
    stream,
    seq: r.seq,
    subject: r.subject,
    ...(r.correlation ? { correlation_id: r.correlation } : {}),
  };
  const fact = FACTS[type];
  if (fact !== undefined)
    return {
      ...base,
      kind: 'fact',
      origin: m.metadata?.origin ?? 'unknown',
      summary: `${fact} v${String(m.metadata?.version ?? '?')}${fields(m.metadata?.changed)}${written(m.metadata?.write)}`,
    };
  return { ...base, ...recorded(type, m.data ?? {}) };
}

/** A Stripe event as INBOUND stored it, before it was mapped to the customer. */
export function stripeEventEntry(stream: string, r: RecordedMessage): TimelineEntry {
  const e = (r.message ?? {}) as {
    id?: string;
    type?: string;
    data?: { object?: { id?: string } };
  };
  return {
    at: new Date(r.at).toISOString(),
    kind: 'stripe_event',
    origin: 'stripe',
    type: e.type ?? '(unreadable)',
    summary: `${e.type ?? 'event'} ${e.id ?? '?'} about ${e.data?.object?.id ?? '?'}`,
    stream,
    seq: r.seq,
    subject: r.subject,
    // A change from Stripe is correlated by its event's id.
    ...(e.id ? { correlation_id: e.id } : {}),
  };
}
