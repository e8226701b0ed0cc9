// The invoice actor's public surface, for the runtime and the executors.
export {
  createInvoiceMachine,
  invoiceMachine,
  INVOICE_MACHINE_VERSION,
  OLDER_INVOICE_MACHINE_VERSIONS,
  type InvoiceContext,
  type InvoiceMachine,
} from './machine.ts';
export { DEFAULT_INVOICE_POLICIES, type InvoicePolicies } from './plan.ts';
export {
  decideInvoice,
  pendingInvoiceIntents,
  persistInvoice,
  progressOf,
  replayInvoice,
  restoreInvoice,
  startInvoice,
  type DueInvoiceIntent,
  type InvoiceDecision,
  type InvoiceProgress,
  type InvoiceSnapshot,
} from './decide.ts';
export {
  InvoiceEventSchema,
  InvoiceRecordedEventSchema,
  type InvoiceEvent,
  type InvoiceRecordedEvent,
} from './events.ts';
export {
  InvoiceIntentSchema,
  INVOICE_TARGETS,
  type InvoiceIntent,
  type InvoiceTarget,
  type StripeInvoiceIntent,
} from './intents.ts';
export type { InvoiceOutcome, StripeInvoiceStatus } from './outcomes.ts';
export {
  InvoiceStateSchema,
  ISSUE_STATUSES,
  type InvoiceState,
  type IssueStatus,
} from './context.ts';
export { invoiceKey } from './keys.ts';
export {
  checkInvoiceMessage,
  encodeInvoiceEvent,
  invoiceEventMsgId,
  parseInvoiceMessage,
} from './messages.ts';
