// `npm run replay -- <customerId> [--rebuild] [--json]`: prints a customer's recorded history from
// the CHANGES stream and, with --rebuild, the actor state that history rebuilds. A rebuild is a
// pure fold over the recorded events: it calls nothing outside.
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { names as subjectNames } from '../core/subjects.ts';
import { connectNats } from '../adapters/jetstream/connect.ts';
import { replay, type CustomerEvent } from '../actors/customer/index.ts';

interface Recorded {
  seq: number;
  subject: string;
  time: string;
  msgId: string | undefined;
  message: Record<string, unknown> & { type: string };
  atMs: number;
}

async function history(nc: NatsConnection, stream: string, filter: string): Promise<Recorded[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: Recorded[] = [];
  if (info.state.messages === 0) return out;
  const consumer = await jetstream(nc).consumers.get(stream, {
    deliver_policy: DeliverPolicy.All,
    filter_subjects: filter,
  });
  if ((await consumer.info()).num_pending === 0) return out;
  const iter = await consumer.consume({ max_messages: 500 });
  for await (const m of iter) {
    const atMs = Math.floor(m.info.timestampNanos / 1e6);
    out.push({
      seq: m.seq,
      subject: m.subject,
      time: new Date(atMs).toISOString(),
      msgId: m.headers?.get('Nats-Msg-Id'),
      message: m.json(),
      atMs,
    });
    if (m.info.pending === 0) break;
  }
  await iter.close();
  return out;
}

function line(r: Recorded): string {
  const meta = (r.message.metadata ?? {}) as { version?: number; origin?: string };
  const data = JSON.stringify(r.message.data ?? {});
  return `#${r.seq}  ${r.time}  ${r.message.type.padEnd(16)} v${meta.version ?? '?'}  origin=${meta.origin ?? '?'}  ${data}`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rebuild: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const customerId = positionals[0];
  if (!customerId || !/^[0-9a-f-]{36}$/i.test(customerId)) {
    console.error('usage: npm run replay -- <customerId> [--rebuild] [--json]');
    return 2;
  }
  const config = loadConfig(process.env);
  const names = subjectNames(config.namespace, config.partitions);
  const nc = await connectNats({ servers: config.natsServers, name: 'rtws-replay' });
  try {
    const recorded = await history(
      nc,
      names.streams.changes,
      names.customerHistoryFilter(customerId),
    );
    if (values.json)
      console.log(
        JSON.stringify(
          recorded.map(({ atMs: _, ...r }) => r),
          null,
          2,
        ),
      );
    else {
      console.log(
        `${recorded.length} recorded message(s) for customer ${customerId} in ${names.streams.changes}`,
      );
      for (const r of recorded) console.log(line(r));
    }
    if (values.rebuild) {
      // `at` is the stream's timestamp of each message: the same instants the live actor recorded.
      const events = recorded.map(
        (r) => ({ ...r.message, at: r.atMs }) as unknown as CustomerEvent,
      );
      const snapshot = replay(customerId, events);
      console.log('\nrebuilt actor state:');
      console.log(JSON.stringify({ value: snapshot.value, context: snapshot.context }, null, 2));
    }
    return 0;
  } finally {
    await nc.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? `rtws: configuration error: ${err.message}` : err);
    process.exit(1);
  },
);
