// Records an invoice executor's outcome on the invoice's own subject (partitioned by its
// customer), where the actor consumes it in stream order after the request.
import type { DurablePublisher } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import {
  encodeInvoiceEvent,
  invoiceEventMsgId,
  type InvoiceRecordedEvent,
} from '../../../actors/invoice/index.ts';

const encoder = new TextEncoder();

export function invoiceRecorder(publisher: DurablePublisher, names: Names) {
  return (invoiceId: string, event: InvoiceRecordedEvent, customerId: string): Promise<void> =>
    publisher.publish(
      names.invoiceSubject(invoiceId, customerId),
      encoder.encode(JSON.stringify(encodeInvoiceEvent(invoiceId, customerId, event))),
      invoiceEventMsgId(invoiceId, event),
      event.correlation,
    );
}
