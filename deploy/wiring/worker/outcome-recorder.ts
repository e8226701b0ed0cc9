// Records an executor's outcome (or an operator's retry request) on the customer's own subject,
// where the actor consumes it in stream order with the customer's facts. Its correlation id (the
// change the call served) goes in a header.
import type { DurablePublisher } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import {
  encodeRecordedEvent,
  isStripeEvent,
  recordedEventMsgId,
  type BindingStamp,
  type RecordedEvent,
} from '../../../actors/customer/outcome-message.ts';

const encoder = new TextEncoder();

/** `binding`: the Stripe account and mode bound now, stamped on Stripe outcomes. */
export function outcomeRecorder(
  publisher: DurablePublisher,
  names: Names,
  binding: () => BindingStamp | undefined = () => undefined,
) {
  return (customerId: string, event: RecordedEvent): Promise<void> =>
    publisher.publish(
      names.customerSubject(customerId),
      encoder.encode(
        JSON.stringify(
          encodeRecordedEvent(customerId, event, isStripeEvent(event) ? binding() : undefined),
        ),
      ),
      recordedEventMsgId(customerId, event),
      // In the header, as the outbox publishes a change's: the payload stays as it was.
      event.correlation,
    );
}
