// The invoice actor: issues one invoice in Stripe, exactly once. It records the next call in its
// context (with its idempotency key and parameters); executors make the call and report back with
// outcome events. It performs no IO and reads no clock. Its state mirrors the issuing status.
import { assign, setup } from 'xstate';
import { initialInvoiceState, ISSUE_STATUSES, type InvoiceState } from './context.ts';
import type { InvoiceEvent, InvoiceRequestedEvent } from './events.ts';
import { applyRetryRequest } from './failure-step.ts';
import { applyVoidRequest, acceptsVoidRequest } from './void-step.ts';
import { acceptsOutcome, applyOutcome } from './outcome-step.ts';
import type { InvoiceOutcome } from './outcomes.ts';
import { DEFAULT_INVOICE_POLICIES, plan, type InvoicePolicies } from './plan.ts';

/** Stamped into every snapshot; bump it when the context's shape or meaning changes. */
export const INVOICE_MACHINE_VERSION = 2;
/** Versions whose snapshots this machine still reads: 1 had no voids, and reads as none asked for. */
export const OLDER_INVOICE_MACHINE_VERSIONS: readonly number[] = [1];

export type InvoiceContext = InvoiceState;

export interface InvoiceInput {
  invoiceId: string;
}

const OUTCOME_TYPES: readonly InvoiceOutcome['type'][] = [
  'StripeLinkFound',
  'StripeLinkMissing',
  'StripeInvoiceDrafted',
  'StripeInvoiceItemAdded',
  'StripeInvoiceFinalized',
  'StripeInvoiceInspected',
  'StripeInvoiceVoided',
  'StripeInvoiceDeleted',
  'InvoiceCallFailed',
];

function isOutcome(event: InvoiceEvent): event is InvoiceOutcome {
  return (OUTCOME_TYPES as readonly string[]).includes(event.type);
}

/** The first request for this invoice; a redelivered or foreign one changes nothing. */
function isNewRequest(s: InvoiceState, event: InvoiceEvent): event is InvoiceRequestedEvent {
  return event.type === 'InvoiceRequested' && s.request === null && event.data.id === s.invoiceId;
}

export function createInvoiceMachine(policies: InvoicePolicies = DEFAULT_INVOICE_POLICIES) {
  const toRoute = '.route';
  const outcomes = Object.fromEntries(
    OUTCOME_TYPES.map((type) => [
      type,
      { guard: 'isOwnOutcome' as const, actions: 'applyOutcome' as const, target: toRoute },
    ]),
  );
  return setup({
    types: {
      context: {} as InvoiceContext,
      events: {} as InvoiceEvent,
      input: {} as InvoiceInput,
    },
    guards: {
      isNewRequest: ({ context, event }) => isNewRequest(context, event),
      isOwnOutcome: ({ context, event }) => isOutcome(event) && acceptsOutcome(context, event),
      isRetryable: ({ context }) =>
        context.status === 'failed' ||
        (context.pending !== null && context.status !== 'issuing' && context.status !== 'voiding'),
      isVoidable: ({ context, event }) =>
        event.type === 'InvoiceVoidRequested' && acceptsVoidRequest(context, event),
      statusIs: ({ context }, { status }: { status: InvoiceState['status'] }) =>
        context.status === status,
    },
    actions: {
      recordRequest: assign(({ context, event }) => {
        if (event.type !== 'InvoiceRequested') return {};
        const { id: _id, ...request } = event.data;
        return plan({ ...context, request }, policies, event.at);
      }),
      applyOutcome: assign(({ context, event }) =>
        isOutcome(event) ? applyOutcome(context, policies, event) : {},
      ),
      applyRetryRequest: assign(({ context, event }) =>
        applyRetryRequest(context, policies, event.at),
      ),
      applyVoidRequest: assign(({ context, event }) =>
        event.type === 'InvoiceVoidRequested' ? applyVoidRequest(context, policies, event) : {},
      ),
      /** Bound by the runtime: writes the DLQ entry for `context.lastError`. */
      deadLetter: () => {},
    },
  }).createMachine({
    id: 'invoice',
    context: ({ input }) => initialInvoiceState(input.invoiceId, INVOICE_MACHINE_VERSION),
    initial: 'new',
    states: {
      /** Transient: settles on the state named by the status after every change. */
      route: {
        always: ISSUE_STATUSES.map((status) => ({
          guard: { type: 'statusIs' as const, params: { status } },
          target: status,
        })),
      },
      new: {},
      linking: {},
      issuing: {},
      retrying: {},
      issued: {},
      failed: { entry: 'deadLetter' },
      voiding: {},
      voided: {},
      cancelled: {},
    },
    on: {
      InvoiceRequested: { guard: 'isNewRequest', actions: 'recordRequest', target: toRoute },
      InvoiceRetryRequested: {
        guard: 'isRetryable',
        actions: 'applyRetryRequest',
        target: toRoute,
      },
      InvoiceVoidRequested: { guard: 'isVoidable', actions: 'applyVoidRequest', target: toRoute },
      ...outcomes,
    },
  });
}

export type InvoiceMachine = ReturnType<typeof createInvoiceMachine>;

/** The machine with the default policies. */
export const invoiceMachine: InvoiceMachine = createInvoiceMachine();
