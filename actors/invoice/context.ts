// What the invoice actor knows. Plain JSON: it is persisted in KV, compared after replays and
// validated when loaded.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from '../../core/nullable.ts';
import { InvoiceRequest } from '../../core/invoice.ts';
import { FailureKindSchema } from '../customer/schemas.ts';
import { At, InvoiceIntentSchema } from './intents.ts';
import { StripeInvoiceStatusSchema } from './outcomes.ts';

/**
 * - `new`: no request seen yet;
 * - `linking`: waiting for the customer's Stripe link;
 * - `issuing`: a Stripe call is pending;
 * - `retrying`: the pending call failed and waits for its `notBefore`;
 * - `issued`: finalized in Stripe; final unless a void is asked for;
 * - `failed`: given up (Stripe's message in `lastError`) until an operator's retry;
 * - `voiding`: a void was asked for, and the call that carries it out (a delete of the draft, or
 *   the void) is pending;
 * - `voided`: voided in Stripe; final;
 * - `cancelled`: voided before it was finalized: never created in Stripe, or its draft deleted;
 *   final.
 */
export const ISSUE_STATUSES = [
  'new',
  'linking',
  'issuing',
  'retrying',
  'issued',
  'failed',
  'voiding',
  'voided',
  'cancelled',
] as const;
export type IssueStatus = (typeof ISSUE_STATUSES)[number];

export const IssueErrorSchema = Type.Object({
  /** `exhausted`: retryable failures repeated until the retry policy gave up. */
  failure: Type.Union([FailureKindSchema, Type.Literal('exhausted')]),
  reason: Type.String(),
  at: At,
  intent: InvoiceIntentSchema,
});
export type IssueError = Static<typeof IssueErrorSchema>;

export const InvoiceStateSchema = Type.Object({
  machineVersion: Type.Integer({ minimum: 1 }),
  invoiceId: Type.String(),
  /** The request, once seen; `customer_id` picks the partition of every message of the invoice. */
  request: Nullable(InvoiceRequest),
  status: Type.Union(ISSUE_STATUSES.map((s) => Type.Literal(s))),
  stripeCustomerId: Nullable(Type.String()),
  stripeInvoiceId: Nullable(Type.String()),
  /** Indexes of the request's items known to be attached to the Stripe invoice. */
  itemsAdded: Type.Array(Type.Integer({ minimum: 0 })),
  /** Stripe's status once finalized; null while a draft. */
  stripeStatus: Nullable(StripeInvoiceStatusSchema),
  number: Nullable(Type.String()),
  hostedInvoiceUrl: Nullable(Type.String()),
  /** Keys used so far per step: the next key of a step carries `-a<n+1>` when n > 0 were proven absent. */
  keyRounds: Type.Record(Type.String(), Type.Integer({ minimum: 1 })),
  /** A write whose outcome is unknown: it is looked up before any new write. */
  uncertain: Type.Boolean(),
  /** When the first create was recorded: the lower bound of a lookup by listing. */
  draftRecordedAt: Nullable(At),
  /** At most one intent is ever pending. */
  pending: Nullable(InvoiceIntentSchema),
  /** Failures that count towards giving up, since the last step that went through. */
  failures: Type.Integer({ minimum: 0 }),
  /** Times in a row the customer was found not linked yet: the wait grows with it. */
  linkChecks: Type.Integer({ minimum: 0 }),
  lastError: Nullable(IssueErrorSchema),
  /** When a void was asked for; absent until then (and in snapshots written before voids existed). */
  voidRequestedAt: Type.Optional(At),
  /**
   * The customer of an invoice created in Stripe, whose actor starts from a void (no request names
   * it): its partition is the customer's, like every invoice's.
   */
  customerId: Type.Optional(Type.String()),
  /** Numbers intent ids, so that ids are deterministic on replay. */
  intentSeq: Type.Integer({ minimum: 0 }),
});
export type InvoiceState = Static<typeof InvoiceStateSchema>;

export function initialInvoiceState(invoiceId: string, machineVersion: number): InvoiceState {
  return {
    machineVersion,
    invoiceId,
    request: null,
    status: 'new',
    stripeCustomerId: null,
    stripeInvoiceId: null,
    itemsAdded: [],
    stripeStatus: null,
    number: null,
    hostedInvoiceUrl: null,
    keyRounds: {},
    uncertain: false,
    draftRecordedAt: null,
    pending: null,
    failures: 0,
    linkChecks: 0,
    lastError: null,
    intentSeq: 0,
  };
}
