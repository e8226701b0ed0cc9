// Publishing a verified inbound webhook to the INBOUND stream. The raw bytes go as they arrived, so
// a consumer can check them against the signature-verified original; the event id is the
// Nats-Msg-Id, so a redelivered event inside the stream's duplicate window is stored once. It is
// also the change's correlation id (a Stripe event's id starts its change), in the header every
// consumer's log lines and dead letters read it from.
import type { JetStreamClient } from '@nats-io/jetstream';
import { isSaneCorrelationId } from '../../core/correlation.ts';
import { correlationHeaders } from './correlation-header.ts';

/** What the broker said about a stored message. */
export interface PublishReceipt {
  /** JetStream had already stored a message with this Nats-Msg-Id. */
  duplicate: boolean;
  /** The stream sequence of the stored message (of the first one, for a duplicate). */
  seq?: number;
}

/**
 * A durable publish (the `DurablePublisher` port) that also reports duplicates. Resolves only
 * after the PubAck; rejects when NATS does not answer within `timeoutMs`.
 */
export type InboundPublish = (
  subject: string,
  payload: Uint8Array,
  msgId: string,
) => Promise<PublishReceipt>;

export function inboundPublisher(js: JetStreamClient, timeoutMs = 5_000): InboundPublish {
  return async (subject, payload, msgId) => {
    const headers = isSaneCorrelationId(msgId) ? correlationHeaders(msgId) : undefined;
    const ack = await js.publish(subject, payload, {
      msgID: msgId,
      timeout: timeoutMs,
      ...(headers ? { headers } : {}),
    });
    return { duplicate: ack.duplicate, seq: ack.seq };
  };
}
