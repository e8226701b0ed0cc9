// Each stream's size and how far its consumers are behind: what an operator watches drain.
import type { JetStreamManager } from '@nats-io/jetstream';

export interface StreamStats {
  readonly messages: number;
  /** Messages its consumers have yet to handle: their pending plus their unacknowledged. */
  readonly consumerLag: number;
  readonly consumers: number;
}

export async function streamStats(jsm: JetStreamManager, stream: string): Promise<StreamStats> {
  const info = await jsm.streams.info(stream);
  let lag = 0;
  let consumers = 0;
  for await (const c of jsm.consumers.list(stream)) {
    consumers++;
    lag += c.num_pending + c.num_ack_pending;
  }
  return { messages: info.state.messages, consumerLag: lag, consumers };
}
