import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface NatsOptions {
  servers: readonly string[];
  name: string;
}

/** Connects once, then reconnects for ever: a NATS restart must never end the process. */
export function connectNats(options: NatsOptions): Promise<NatsConnection> {
  return connect({
    servers: [...options.servers],
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
  });
}
