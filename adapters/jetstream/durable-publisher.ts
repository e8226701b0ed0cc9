import type { JetStreamClient } from '@nats-io/jetstream';
import type { DurablePublisher } from '../../core/ports.ts';
import { correlationHeaders } from './correlation-header.ts';

/** JetStream publishes with Nats-Msg-Id dedupe; a duplicate PubAck counts as stored. */
export function jetStreamPublisher(js: JetStreamClient, timeoutMs = 5_000): DurablePublisher {
  return {
    async publish(subject, payload, msgId, correlationId) {
      const headers = correlationHeaders(correlationId);
      await js.publish(subject, payload, {
        msgID: msgId,
        timeout: timeoutMs,
        ...(headers ? { headers } : {}),
      });
    },
  };
}
