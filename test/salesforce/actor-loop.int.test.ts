// The customer actor and the Salesforce executor together, against the emulator: each intent the
// machine records is carried out and its outcome fed back, as the runtime does. A catalogue change
// to a field mapped from_salesforce completes without a call and leaves the target synced: the
// actor does not push it again and again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Connection } from 'jsforce';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { executeSalesforceIntent } from '../../adapters/salesforce/executor.ts';
import {
  createCustomerMachine,
  decide,
  DEFAULT_POLICIES,
  pendingIntents,
  start,
  type CustomerEvent,
  type CustomerSnapshot,
  type SalesforceIntent,
} from '../../actors/customer/index.ts';
import type { SyncedFields } from '../../core/customer.ts';
import { DEFAULT_ACCOUNT_FIELD_MAP } from '../../adapters/salesforce/mapper.ts';
import type { SalesforceTarget } from '../../adapters/salesforce/target.ts';
import { TARGET, countByRtwsId, emulatorAndConnection } from './fixtures.ts';

const test = suite<{ emulator: SalesforceEmulator; conn: Connection }>('Salesforce actor loop');

test.before(async (ctx) => {
  Object.assign(ctx, await emulatorAndConnection(2_000));
});
test.after(async (ctx) => {
  await ctx.emulator?.close();
});

const machine = createCustomerMachine(DEFAULT_POLICIES, { targets: ['salesforce'] });
const CUSTOMER = '5d0b1c52-7c1e-4c3a-9d1e-2f5b8e0a7c11';
let clock = 1_800_000_000_000;

function fact(type: CustomerEvent['type'], version: number, data: SyncedFields): CustomerEvent {
  clock += 1000;
  return {
    type,
    data,
    metadata: {
      customer_id: CUSTOMER,
      version,
      origin: 'api',
      outbox_id: version,
      occurred_at: new Date(clock).toISOString(),
    },
    at: clock,
  } as CustomerEvent;
}

/** Runs the one Salesforce intent due, if any, and feeds its outcome back. */
async function step(
  s: CustomerSnapshot,
  conn: Connection,
  target: SalesforceTarget = TARGET,
): Promise<CustomerSnapshot> {
  const [due] = pendingIntents(s);
  if (due === undefined) return s;
  clock += 1000;
  const intent = due.intent as SalesforceIntent;
  const outcome = await executeSalesforceIntent(
    conn,
    { customerId: CUSTOMER, intent },
    target,
    () => clock,
  );
  return decide(s, outcome, machine).snapshot;
}

const DATA: SyncedFields = {
  name: 'Grace Hopper',
  email: 'grace@example.com',
  phone: null,
  address: null,
  metadata: {},
};

test('create, a quota pause with a change arriving meanwhile, resume, delete', async ({
  conn,
  emulator,
}) => {
  let s = decide(start(CUSTOMER, machine), fact('CustomerCreated', 1, DATA), machine).snapshot;
  s = await step(s, conn);
  const sf = () => s.context.targets.salesforce;
  assert.is(sf().status, 'synced');
  const salesforceId = sf().externalId;

  emulator.exhaustQuota();
  s = decide(s, fact('CustomerUpdated', 2, { ...DATA, phone: '+1 555 0100' }), machine).snapshot;
  s = await step(s, conn);
  assert.is(sf().status, 'paused');
  s = decide(
    s,
    fact('CustomerUpdated', 3, { ...DATA, phone: '+1 555 0100', name: 'Grace' }),
    machine,
  ).snapshot;

  emulator.restoreQuota();
  s = decide(
    s,
    { type: 'RetryRequested', data: { target: 'salesforce' }, at: (clock += 1000) },
    machine,
  ).snapshot;
  for (let i = 0; i < 3 && sf().status !== 'synced'; i++) s = await step(s, conn);
  assert.is(sf().status, 'synced');
  assert.is(sf().syncedVersion, 3);
  const [record] = emulator.records('Account');
  assert.is(record?.Name, 'Grace');
  assert.is(record?.Phone, '+1 555 0100');
  assert.is(record?.Id, salesforceId);

  s = decide(s, fact('CustomerDeleted', 4, DATA), machine).snapshot;
  s = await step(s, conn);
  assert.is(sf().status, 'deleted');
  assert.is(await countByRtwsId(conn, CUSTOMER), 0);
});

test('a change to a from_salesforce field costs no call, and the target stays synced', async ({
  conn,
  emulator,
}) => {
  const target: SalesforceTarget = {
    ...TARGET,
    fieldMap: {
      ...DEFAULT_ACCOUNT_FIELD_MAP,
      Phone: { canonical: 'phone', direction: 'from_salesforce' },
    },
  };
  const data = { ...DATA, phone: '+1 555 0101' };
  let s = decide(start(CUSTOMER, machine), fact('CustomerCreated', 1, data), machine).snapshot;
  s = await step(s, conn, target);
  const sf = () => s.context.targets.salesforce;
  assert.is(sf().status, 'synced');
  const [created] = emulator.records('Account');
  assert.is(created?.Name, 'Grace Hopper');
  assert.is(created?.Phone ?? null, null, 'a create does not send it');
  emulator.editAsPerson('Account', created!.Id as string, { Phone: '+1 555 0199' });

  const calls = emulator.apiCalls();
  s = decide(s, fact('CustomerUpdated', 2, { ...data, phone: '+1 555 0102' }), machine).snapshot;
  assert.is(pendingIntents(s).length, 1, 'the actor decides an update of the phone');
  s = await step(s, conn, target);
  assert.is(sf().status, 'synced');
  assert.is(sf().syncedVersion, 2);
  assert.is(pendingIntents(s).length, 0, 'nothing left to push: no loop');
  assert.is(emulator.apiCalls(), calls, 'no call was made');
  assert.is(emulator.records('Account')[0]?.Phone, '+1 555 0199', "Salesforce's value is kept");

  // A later change to a field that flows there sends that field alone.
  s = decide(
    s,
    fact('CustomerUpdated', 3, { ...data, phone: '+1 555 0102', name: 'Grace B. Hopper' }),
    machine,
  ).snapshot;
  s = await step(s, conn, target);
  assert.is(sf().status, 'synced');
  assert.is(pendingIntents(s).length, 0);
  const [record] = emulator.records('Account');
  assert.is(record?.Name, 'Grace B. Hopper');
  assert.is(record?.Phone, '+1 555 0199');
});

test.run();
