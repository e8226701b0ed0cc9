// How an import hands a Stripe customer to an actor: on the actor's own subject, as the webhook
// of its creation would (a Stripe-born customer), or as a match to a catalogue customer.
import type Stripe from 'stripe';
import type {
  CatalogueRowObserved,
  SalesforceRecordAdopted,
  SalesforceRecordChanged,
  SalesforceRecordMissing,
  SalesforceRecordObserved,
  StripeCustomerMatched,
  StripeCustomerObserved,
} from '../../../actors/customer/index.ts';
import { bindsStripe, encodeRecordedEvent } from '../../../actors/customer/outcome-message.ts';
import { stripeBornId } from '../../../adapters/postgres/stripe-customer-id.ts';
import { fieldsOf } from '../../../adapters/stripe/mapper.ts';
import { offerRow } from './resync.ts';
import type { ImportDeps } from './stripe-import.ts';

const encoder = new TextEncoder();

/**
 * The catalogue customer's row goes first: an actor that never saw the customer (a row from before
 * capture) then has its values to merge. Such an actor plans its create on that row, which takes
 * the match in turn (a create looks up the email first); one that knows the customer takes this
 * match directly.
 */
export async function handOverMatch(o: ImportDeps, c: Stripe.Customer, customerId: string) {
  if (!(await offerRow(o, customerId))) return;
  const matched: StripeCustomerMatched = {
    type: 'StripeCustomerMatched',
    data: { stripeId: c.id, fields: fieldsOf(c), policy: o.match?.merge ?? 'stripe' },
    at: 0,
  };
  await publishTo(o, customerId, matched, `stripe:match:${c.id}`);
}

/** On the customer's own subject, so the actor decides it in order with everything else. */
export async function publishTo(
  o: Pick<ImportDeps, 'publisher' | 'names' | 'binding'>,
  customerId: string,
  event:
    | CatalogueRowObserved
    | StripeCustomerMatched
    | StripeCustomerObserved
    | SalesforceRecordObserved
    | SalesforceRecordChanged
    | SalesforceRecordMissing
    | SalesforceRecordAdopted,
  msgId: string,
): Promise<void> {
  // Only what names Stripe's objects is of a Stripe binding; a Salesforce observation holds for
  // every binding.
  const message = encodeRecordedEvent(
    customerId,
    event,
    bindsStripe(event) ? o.binding?.() : undefined,
  );
  // An observation is correlated by what it observed: a Salesforce change event (or read), an
  // import's or a reconciliation's record.
  const { eventId } = event.data as { eventId?: unknown };
  await o.publisher.publish(
    o.names.customerSubject(customerId),
    encoder.encode(JSON.stringify(message)),
    msgId,
    event.correlation ?? (typeof eventId === 'string' ? eventId : undefined),
  );
}

/**
 * As its `customer.created` webhook would reach the actor of its Stripe-born id. An adopted
 * orphan's stale `rtws_id` is left out, so its actor writes its own over it at once. Anyone
 * else's `rtws_id` is written with the first push the actor makes to it, unless `writeBack`
 * asks for it now: the id derives from the Stripe id, so it tells nothing new.
 */
export async function handOver(
  o: ImportDeps,
  c: Stripe.Customer,
  { adopt, writeBack }: { adopt: boolean; writeBack: boolean },
): Promise<void> {
  const customerId = stripeBornId(c.id);
  const observed: StripeCustomerObserved = {
    type: 'StripeCustomerObserved',
    data: {
      eventId: `import:${c.id}`,
      eventType: 'customer.created',
      stripeId: c.id,
      created: c.created,
      key: null,
      fields: fieldsOf(c),
      rtwsId: adopt ? null : (c.metadata?.rtws_id ?? null),
      ...(adopt || writeBack ? {} : { writeRtwsId: 'later' as const }),
    },
    at: 0,
  };
  await publishTo(o, customerId, observed, `stripe:import:${c.id}`);
}
