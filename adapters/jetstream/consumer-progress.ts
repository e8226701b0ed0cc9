// How far a durable consumer has got, read from its info; undefined while it does not exist.
import type { JetStreamManager } from '@nats-io/jetstream';

/** Messages not handled yet: pending plus delivered and unacked. */
export async function backlogOf(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
): Promise<number | undefined> {
  const info = await infoOf(jsm, stream, consumer);
  return info ? info.num_pending + info.num_ack_pending : undefined;
}

/** The stream sequence up to which every message has been acked. */
export async function ackFloorOf(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
): Promise<number | undefined> {
  return (await infoOf(jsm, stream, consumer))?.ack_floor.stream_seq;
}

const infoOf = (jsm: JetStreamManager, stream: string, consumer: string) =>
  jsm.consumers.info(stream, consumer).catch(() => undefined);
