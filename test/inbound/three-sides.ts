// What the convergence property does to one customer: edits through the API, at Stripe's dashboard
// and by a person in Salesforce, pauses and worker restarts; and what any interleaving of them
// must end with for a field that only one side edited.
import fc from 'fast-check';
import type Stripe from 'stripe';
import { canonicalEmail, canonicalString } from '../../core/canonical.ts';
import { editInSalesforce, type SalesforceEdit } from './salesforce-side.ts';
import type { Row, TwoWay } from './stack.ts';

interface Edit extends SalesforceEdit {
  tier?: string;
}

type Side = 'api' | 'stripe' | 'salesforce';

export type Action =
  | ({ kind: 'api' } & Edit)
  | ({ kind: 'stripe' } & Edit)
  | ({ kind: 'salesforce' } & SalesforceEdit)
  | { kind: 'pause'; ms: number }
  | { kind: 'restart' };

// Few values, so that edits collide and revert.
const name = fc.constantFrom('Ann', 'Bob', 'Cy');
const email = fc.constantFrom('a@example.com', 'b@example.com', 'C@Example.com');
const tier = fc.constantFrom('gold', 'silver');
const phone = fc.constantFrom('+1 555 0100', '+1 555 0199');
const edit = fc.record({ name, email, phone, tier }, { requiredKeys: [] });
// The default Account map carries no metadata: a person edits what Salesforce holds of ours.
const personEdit = fc.record({ name, email, phone }, { requiredKeys: [] });

export const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: edit.map((e) => ({ kind: 'api' as const, ...e })) },
  { weight: 4, arbitrary: edit.map((e) => ({ kind: 'stripe' as const, ...e })) },
  { weight: 4, arbitrary: personEdit.map((e) => ({ kind: 'salesforce' as const, ...e })) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 400 }).map((ms) => ({ kind: 'pause' as const, ms })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

export const webhooks = fc.record({
  duplicate: fc.boolean(),
  reorderWindow: fc.constantFrom(0, 3),
  delayMs: fc.constantFrom(0, 30),
});

export interface Ids {
  id: string;
  stripeId: string;
  accountId: string;
}

export async function act(s: TwoWay, { id, stripeId, accountId }: Ids, a: Action): Promise<void> {
  switch (a.kind) {
    case 'api': {
      const body: Record<string, unknown> = {};
      if (a.name) body.name = a.name;
      if (a.email) body.email = a.email;
      if (a.phone) body.phone = a.phone;
      if (a.tier) body.metadata = { tier: a.tier };
      if (Object.keys(body).length > 0) await s.api.patch(id, body);
      return;
    }
    case 'stripe': {
      const body: Stripe.CustomerUpdateParams = {};
      if (a.name) body.name = a.name;
      if (a.email) body.email = a.email;
      if (a.phone) body.phone = a.phone;
      if (a.tier) body.metadata = { tier: a.tier };
      if (Object.keys(body).length > 0) await s.stripe.customers.update(stripeId, body);
      return;
    }
    case 'salesforce':
      editInSalesforce(s, accountId, a);
      return;
    case 'pause':
      await new Promise((r) => setTimeout(r, a.ms));
      return;
    case 'restart':
      await s.restartWorker();
      return;
    default: {
      const never: never = a;
      throw new Error(`unknown action ${JSON.stringify(never)}`);
    }
  }
}

const FIELDS = ['name', 'email', 'phone', 'tier'] as const;
type Field = (typeof FIELDS)[number];

const canonical = (field: Field, v: string | null | undefined) =>
  field === 'email' ? canonicalEmail(v) : canonicalString(v);

/**
 * The fields that one side alone edited, each with that side's last value, canonical. A change
 * made on one side only takes that side's value (the merge policy) and no other change can beat
 * it, so whatever the interleaving, the row must end with it: a lost edit shows here even where
 * every side agrees on another value.
 */
export function oneSided(actions: readonly Action[]): Partial<Record<Field, string | null>> {
  const edits = new Map<Field, { sides: Set<Side>; last: string }>();
  for (const a of actions) {
    if (a.kind !== 'api' && a.kind !== 'stripe' && a.kind !== 'salesforce') continue;
    for (const field of FIELDS) {
      const value = (a as Edit)[field];
      if (value === undefined) continue;
      const seen = edits.get(field) ?? { sides: new Set<Side>(), last: value };
      seen.sides.add(a.kind);
      seen.last = value;
      edits.set(field, seen);
    }
  }
  const out: Partial<Record<Field, string | null>> = {};
  for (const [field, { sides, last }] of edits)
    if (sides.size === 1) out[field] = canonical(field, last);
  return out;
}

/** The same fields of a catalogue row, canonical. */
export function fieldsOfRow(r: Row, fields: readonly string[]): Record<string, string | null> {
  const all: Record<Field, string | null> = {
    name: canonical('name', r.name),
    email: canonical('email', r.email),
    phone: canonical('phone', r.phone),
    tier: r.metadata.tier ?? null,
  };
  return Object.fromEntries(fields.map((f) => [f, all[f as Field]]));
}
