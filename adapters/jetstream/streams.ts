// Streams are created or updated idempotently at startup, so a deployment converges on the
// configured retention without an operator step.
import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { silentLogger, type Logger } from '../../core/ports.ts';
import type { Names } from '../../core/subjects.ts';
import { updateStream } from './replicas.ts';

export interface Retention {
  maxAgeSeconds: number;
  maxBytes: number;
}

const NANOS_PER_SECOND = 1_000_000_000;
/** JetStream's dedupe horizon for Nats-Msg-Id; publisher retries land well inside it. */
export const DUPLICATE_WINDOW_SECONDS = 120;

export interface StreamOptions {
  /**
   * `num_replicas` of every stream (RTWS_REPLICAS), existing ones included. Unset: new streams get
   * 1 and existing ones keep theirs.
   */
  readonly replicas?: number;
  readonly log?: Logger;
}

export function streamConfigs(
  names: Names,
  retention: Retention,
  replicas = 1,
): (Partial<StreamConfig> & { name: string })[] {
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: retention.maxAgeSeconds * NANOS_PER_SECOND,
    max_bytes: retention.maxBytes,
    duplicate_window: DUPLICATE_WINDOW_SECONDS * NANOS_PER_SECOND,
    num_replicas: replicas,
  };
  return [
    { ...common, name: names.streams.changes, subjects: [names.streamSubjects.changes] },
    { ...common, name: names.streams.invoices, subjects: [names.streamSubjects.invoices] },
    { ...common, name: names.streams.inbound, subjects: [names.streamSubjects.inbound] },
    // Dead letters are kept until an operator deals with them.
    { ...common, max_age: 0, name: names.streams.dlq, subjects: [names.streamSubjects.dlq] },
  ];
}

export async function ensureStreams(
  jsm: JetStreamManager,
  names: Names,
  retention: Retention,
  options: StreamOptions = {},
): Promise<void> {
  const log = options.log ?? silentLogger;
  for (const config of streamConfigs(names, retention, options.replicas)) {
    const existing = await jsm.streams.info(config.name).catch((err: unknown) => {
      if (isStreamNotFound(err)) return undefined;
      throw err;
    });
    const replicas = options.replicas ?? existing?.config.num_replicas;
    if (existing) await updateStream(jsm, existing, { ...config, num_replicas: replicas }, log);
    else await jsm.streams.add(config);
  }
}

/** JetStream's answer for a stream that does not exist, whichever call gave it. */
export function isStreamNotFound(err: unknown): boolean {
  const e = err as { name?: string; code?: number; api_error?: { err_code?: number } };
  return (
    e.name === 'StreamNotFoundError' ||
    e.api_error?.err_code === 10059 ||
    /stream not found/i.test(String(err))
  );
}
