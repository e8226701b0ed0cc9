// Publishing a verified inbound webhook to the INBOUND stream. The raw bytes go as they arrived, so
// a consumer can check them against the signature-verified original; the event id is the
// Nats-Msg-Id, so a redelivered event inside the stream's duplicate window is stored once.
import type { JetStreamClient } from '@nats-io/jetstream';

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
    const ack = await js.publish(subject, payload, { msgID: msgId, timeout: timeoutMs });
    return { duplicate: ack.duplicate, seq: ack.seq };
  };
}
