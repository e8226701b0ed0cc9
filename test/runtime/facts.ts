// Hand-made CHANGES messages, for tests that publish straight to the stream.
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { customerMsgId, type CustomerChanged } from '../../core/messages.ts';
import { partitionOf, type Names } from '../../core/subjects.ts';

export function fact(
  customerId: string,
  version: number,
  name = `Customer v${version}`,
): CustomerChanged {
  return {
    type: version === 1 ? 'CustomerCreated' : 'CustomerUpdated',
    data: { name, email: null, phone: null, address: null, metadata: {} },
    metadata: {
      customer_id: customerId,
      version,
      origin: 'api',
      outbox_id: version,
      occurred_at: new Date().toISOString(),
    },
  };
}

export async function publishFact(
  nc: NatsConnection,
  names: Names,
  message: CustomerChanged,
): Promise<void> {
  const id = message.metadata.customer_id;
  await jetstream(nc).publish(names.customerSubject(id), JSON.stringify(message), {
    msgID: customerMsgId(id, message.metadata.version, message.metadata.occurred_at),
  });
}

/** A fresh customer id whose partition is `partition`. */
export function customerIn(names: Names, partition: number): string {
  for (;;) {
    const id = randomUUID();
    if (partitionOf(id, names.partitions) === partition) return id;
  }
}
