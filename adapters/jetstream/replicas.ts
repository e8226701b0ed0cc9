// A change of RTWS_REPLICAS reaches streams and buckets that already exist: JetStream moves a
// stream between R1 and R3 in place, but refuses where it cannot (more replicas than nodes). A refusal
// must not stop the process: the data is still there, only less replicated than asked.
import type { JetStreamManager, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { silentLogger, type Logger } from '../../core/ports.ts';

/** How many replicas a KV bucket should have, and where to say so. */
export interface ReplicaOptions {
  /** RTWS_REPLICAS, applied to an existing bucket too. Unset: 1 if new, else left as it is. */
  readonly replicas?: number;
  readonly log?: Logger;
}

/** Brings a bucket that already existed to the replicas asked; a new one was created with them. */
export async function ensureBucketReplicas(
  kv: KV,
  jsm: JetStreamManager,
  options: ReplicaOptions,
): Promise<void> {
  const { replicas } = options;
  if (replicas === undefined) return;
  const status = await kv.status();
  if (status.replicas === replicas) return;
  await applyReplicas(jsm, status.streamInfo.config.name, replicas, options.log ?? silentLogger);
}

/** Sets an existing stream's replicas (a KV bucket's stream is `KV_<bucket>`); logs what it did. */
export async function applyReplicas(
  jsm: JetStreamManager,
  stream: string,
  replicas: number,
  log: Logger,
): Promise<void> {
  const info = await jsm.streams.info(stream);
  if (info.config.num_replicas === replicas) return;
  await updateStream(jsm, info, { ...info.config, num_replicas: replicas }, log);
}

/**
 * Updates a stream to `config`. When only the replicas cannot change, the rest of the update
 * still goes through and a warning names the stream.
 */
export async function updateStream(
  jsm: JetStreamManager,
  existing: StreamInfo,
  config: Partial<StreamConfig> & { name: string },
  log: Logger,
): Promise<void> {
  const from = existing.config.num_replicas;
  const to = config.num_replicas ?? from;
  if (from === to) {
    await jsm.streams.update(config.name, config);
    return;
  }
  try {
    await jsm.streams.update(config.name, config);
    log.info({ stream: config.name, from, to }, `stream ${config.name}: replicas ${from} -> ${to}`);
  } catch (err) {
    log.warn(
      { stream: config.name, from, to, err: String(err) },
      `stream ${config.name}: JetStream refused to change its replicas from ${from} to ${to}; it keeps ${from}`,
    );
    await jsm.streams.update(config.name, { ...config, num_replicas: from });
  }
}
