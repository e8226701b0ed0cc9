// The publisher thread's entry (see publisher-thread.ts): its own NATS connection and the outbox
// publisher, reporting its figures to the process, and stopping (its batch in flight finished,
// what is left flushed) when asked.
import { parentPort, workerData } from 'node:worker_threads';
import { jetstream } from '@nats-io/jetstream';
import { names } from '../../core/subjects.ts';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { jetStreamPublisher } from '../../adapters/jetstream/durable-publisher.ts';
import { startOutboxPublisher } from '../../adapters/postgres/outbox/publisher.ts';
import type { Logger } from '../../core/ports.ts';
import {
  STATS_EVERY_MS,
  type LogLevel,
  type PublisherThreadData,
  type ToParent,
  type ToThread,
} from './publisher-thread.ts';

const port = parentPort!;
const d = workerData as PublisherThreadData;
const send = (m: ToParent) => port.postMessage(m);

/** Log lines go to the process's logger (its level, its fields), errors as plain values. */
function forwardingLogger(bindings: object): Logger {
  const line = (level: LogLevel) => (obj: object, msg?: string) =>
    send({ type: 'log', level, obj: { ...bindings, ...plain(obj) }, msg });
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: (more) => forwardingLogger({ ...bindings, ...more }),
  };
}

function plain(obj: object): object {
  return JSON.parse(
    JSON.stringify(obj, (_key, v: unknown) =>
      v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : v,
    ),
  ) as object;
}

const log = forwardingLogger({ thread: true });

const nats = await connectNats({ servers: d.natsServers, name: 'rtws-publisher' });
const publisher = await startOutboxPublisher({
  databaseUrl: d.databaseUrl,
  names: names(d.namespace, d.partitions),
  publisher: jetStreamPublisher(jetstream(nats)),
  log,
  ...d.options,
}).catch(async (err: unknown) => {
  await nats.close();
  throw err;
});
const reporting = setInterval(
  () => send({ type: 'stats', stats: { ...publisher.stats } }),
  STATS_EVERY_MS,
);
port.on('message', (m: ToThread) => {
  if (m.type === 'stop') void stop();
});
send({ type: 'started' });

async function stop(): Promise<void> {
  clearInterval(reporting);
  await publisher.stop();
  await nats.close().catch(() => {});
  send({ type: 'stopped', stats: { ...publisher.stats } });
  port.close();
}
