// `npm run replay -- <customerId> [--rebuild] [--json]`: prints a customer's recorded history from
// the CHANGES stream (captured changes and executor outcomes, in the order the actor saw them) and,
// with --rebuild, the actor state that history rebuilds. A rebuild is a pure fold over the
// recorded events: it calls nothing outside and reads no clock.
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { names as subjectNames } from '../core/subjects.ts';
import { connectNats } from '../adapters/jetstream/connect.ts';
import { customerHistory, type RecordedMessage } from '../adapters/jetstream/customer-history.ts';
import { rebuild } from '../actors/runtime/rebuild.ts';
import { customerKind } from '../actors/customer/kind.ts';
import {
  createCustomerMachine,
  DEFAULT_POLICIES,
  type TargetName,
} from '../actors/customer/index.ts';

function line(r: RecordedMessage): string {
  const m = (r.message ?? {}) as {
    type?: string;
    data?: unknown;
    metadata?: { version?: number; origin?: string };
  };
  const time = new Date(r.at).toISOString();
  const version =
    m.metadata?.version === undefined
      ? ''
      : ` v${m.metadata.version} origin=${m.metadata.origin ?? '?'}`;
  return `#${r.seq}  ${time}  ${(m.type ?? '(unreadable)').padEnd(24)}${version}  ${JSON.stringify(m.data ?? {})}`;
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
    const recorded = await customerHistory(nc, names, customerId);
    if (values.json) console.log(JSON.stringify(recorded, null, 2));
    else {
      console.log(
        `${recorded.length} recorded message(s) for customer ${customerId} in ${names.streams.changes}`,
      );
      for (const r of recorded) console.log(line(r));
    }
    if (values.rebuild) {
      // The targets that are on decide the machine's regions, as in the live worker. The sandbox
      // runs Salesforce too: pass SALESFORCE_* (or nothing, for the sandbox's own) accordingly.
      const targets: TargetName[] =
        config.salesforce.loginUrl || config.sandbox ? ['stripe', 'salesforce'] : ['stripe'];
      const machine = createCustomerMachine(DEFAULT_POLICIES, { targets });
      const snapshot = rebuild(customerKind(machine), customerId, recorded);
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
