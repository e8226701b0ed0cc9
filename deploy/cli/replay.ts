// `npm run rtws -- replay <customerId> [--rebuild] [--json]` (or `npm run replay -- …`): prints a customer's recorded history from
// the CHANGES stream (captured changes and executor outcomes, in the order the actor saw them) and,
// with --rebuild, the actor state that history rebuilds. A rebuild is a pure fold over the
// recorded events: it calls nothing outside and reads no clock; only the database's Stripe binding
// is read first, as the live actor skips events recorded under an earlier one.
// `npm run rtws -- replay --stripe <cus_…> [--json]`: the Stripe events INBOUND holds about a Stripe
// customer, in the order they were mapped, and the partition they are in.
import { fieldOwnersOf } from '../../core/policy/merge.ts';
import type { Config } from '../../core/config.ts';
import type { ReplayArgs } from './replay-args.ts';
import { names as subjectNames, partitionToken, type Names } from '../../core/subjects.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import {
  customerHistory,
  type RecordedMessage,
} from '../../adapters/jetstream/customer-history.ts';
import { stripeEventHistory } from '../../adapters/jetstream/stripe-event-history.ts';
import { rebuild } from '../../actors/runtime/rebuild.ts';
import { customerKind } from '../../actors/customer/kind.ts';
import type { BindingStamp } from '../../actors/customer/outcome-message.ts';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import { bindingOf } from '../../adapters/postgres/bindings.ts';
import {
  createCustomerMachine,
  DEFAULT_POLICIES,
  type TargetName,
} from '../../actors/customer/index.ts';

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
  const correlation = r.correlation ? `  correlation=${r.correlation}` : '';
  return `#${r.seq}  ${time}  ${(m.type ?? '(unreadable)').padEnd(24)}${version}${correlation}  ${JSON.stringify(m.data ?? {})}`;
}

/** A Stripe event as INBOUND stored it: its type and the id of the object it is about. */
function stripeLine(r: RecordedMessage): string {
  const e = (r.message ?? {}) as { id?: string; type?: string; created?: number };
  const object = (e as { data?: { object?: { id?: string } } }).data?.object;
  const created = e.created === undefined ? '?' : new Date(e.created * 1000).toISOString();
  return `#${r.seq}  ${new Date(r.at).toISOString()}  ${(e.type ?? '(unreadable)').padEnd(24)}  ${e.id ?? '?'}  ${object?.id ?? ''}  created ${created}`;
}

async function printStripeEvents(
  nc: NatsConnection,
  names: Names,
  stripeId: string,
  json: boolean,
): Promise<void> {
  const { partition, events } = await stripeEventHistory(nc, names, stripeId);
  if (json) return console.log(JSON.stringify(events, null, 2));
  console.log(
    `${events.length} Stripe event(s) about ${stripeId} in ${names.streams.inbound} (partition ${partitionToken(partition)})`,
  );
  for (const r of events) console.log(stripeLine(r));
}

/**
 * The Stripe account and mode the database is bound to. Unread (Postgres away), the rebuild folds
 * in the events of every binding, and says so.
 */
async function boundStripe(config: Config): Promise<BindingStamp | undefined> {
  const sql = connectPostgres(config.databaseUrl, { applicationName: 'rtws-replay' });
  try {
    const bound = await bindingOf(sql, 'stripe');
    return bound && { account: bound.accountId, livemode: bound.livemode };
  } catch (err) {
    const { code, name } = err as { code?: unknown; name?: unknown };
    console.error(
      `the Stripe binding could not be read (${String(code ?? name)}): the rebuild folds in ` +
        'the events of every binding, where the live actor skips those of an earlier one',
    );
    return undefined;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function replay(config: Config, a: ReplayArgs): Promise<number> {
  const names = subjectNames(config.namespace, config.partitions);
  const nc = await connectNats({ servers: config.natsServers, name: 'rtws-replay' });
  try {
    if (a.stripeId) {
      await printStripeEvents(nc, names, a.stripeId, a.json);
      return 0;
    }
    const customerId = a.customerId!;
    const recorded = await customerHistory(nc, names, customerId);
    if (a.json) console.log(JSON.stringify(recorded, null, 2));
    else {
      console.log(
        `${recorded.length} recorded message(s) for customer ${customerId} in ${names.streams.changes}`,
      );
      for (const r of recorded) console.log(line(r));
    }
    if (a.rebuild) {
      // The targets that are on decide the machine's regions, as in the live worker. The sandbox
      // runs Salesforce too: pass SALESFORCE_* (or nothing, for the sandbox's own) accordingly.
      const targets: TargetName[] =
        config.salesforce.loginUrl || config.sandbox ? ['stripe', 'salesforce'] : ['stripe'];
      const machine = createCustomerMachine(DEFAULT_POLICIES, {
        targets,
        owners: fieldOwnersOf(config.fieldOwners),
      });
      // As the live worker, events recorded under another Stripe binding are left out.
      const binding = await boundStripe(config);
      const snapshot = rebuild(
        customerKind(machine, () => binding),
        customerId,
        recorded,
      );
      console.log('\nrebuilt actor state:');
      console.log(JSON.stringify({ value: snapshot.value, context: snapshot.context }, null, 2));
    }
    return 0;
  } finally {
    await nc.close();
  }
}
