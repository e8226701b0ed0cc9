import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';

export interface NatsOptions {
  servers: readonly string[];
  name: string;
}

/**
 * Connects once, then reconnects for ever: a NATS restart must never end the process.
 * `noAsyncTraces`: nats.js otherwise builds an Error per request (every publish's PubAck, every KV
 * read and write) to hold the caller's stack in case it fails, about a tenth of rtws's CPU in the
 * pipeline's profile; a failed request still says what failed, and rtws's log line says where.
 */
export function connectNats(options: NatsOptions): Promise<NatsConnection> {
  return connect({
    servers: [...options.servers],
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    noAsyncTraces: true,
  });
}

/**
 * A JetStream manager made on first use and kept, or made again after it could not be: made at
 * once and left unawaited, a failed one would be an unhandled rejection, and kept, it would fail
 * every later call.
 */
export function lazyManager(nats: NatsConnection): () => Promise<JetStreamManager> {
  let made: Promise<JetStreamManager> | undefined;
  return () =>
    (made ??= jetstreamManager(nats).catch((err: unknown) => {
      made = undefined;
      throw err;
    }));
}
