// Shared by the Salesforce executor suites: intents as the actor records them, and counts read
// back through jsforce.
import type { Connection } from 'jsforce';
import { suite } from 'uvu';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import { connectSalesforce } from '../../adapters/salesforce/client.ts';
import type { SalesforceIntent } from '../../actors/customer/index.ts';
import type { CanonicalFields } from '../../core/canonical.ts';
import type { SalesforceTarget, SalesforceWork } from '../../adapters/salesforce/target.ts';

export const TARGET: SalesforceTarget = { object: 'Account', externalIdField: 'Rtws_Id__c' };
export const T0 = 1_800_000_000_000;

const OPS = {
  CreateSalesforceAccount: 'create',
  UpdateSalesforceAccount: 'update',
  DeleteSalesforceAccount: 'delete',
  FindSalesforceAccount: 'find',
} as const;

let seq = 0;

export function work<T extends SalesforceIntent['type']>(
  customerId: string,
  type: T,
  params: Extract<SalesforceIntent, { type: T }>['params'],
  attempt = 1,
): SalesforceWork {
  const intent = {
    id: `salesforce-${++seq}`,
    type,
    op: OPS[type],
    target: 'salesforce',
    key: null,
    version: 1,
    attempt,
    failures: 0,
    notBefore: T0,
    recordedAt: T0,
    params,
  } as SalesforceIntent;
  return { customerId, intent };
}

export const fields = (customerId: string, name = 'Ada Lovelace'): CanonicalFields => ({
  name,
  email: 'ada@example.com',
  phone: '+44 20 7946 0000',
  address: {
    line1: '12 St James Sq',
    line2: 'Floor 2',
    city: 'London',
    state: null,
    postal_code: 'SW1Y 4JH',
    country: 'GB',
  },
  metadata: { plan: 'gold', rtws_id: customerId },
});

export const create = (customerId: string, name?: string): SalesforceWork =>
  work(customerId, 'CreateSalesforceAccount', fields(customerId, name));

/** Live records carrying the customer id, counted by SOQL as an operator would. */
export async function countByRtwsId(conn: Connection, customerId: string): Promise<number> {
  const escaped = customerId.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const res = await conn.query(`SELECT COUNT() FROM Account WHERE Rtws_Id__c = '${escaped}'`);
  return res.totalSize;
}

export function failureOf(outcome: { type: string; data: object }): {
  failure: string;
  reason: string;
} {
  if (outcome.type !== 'SalesforceCallFailed') throw new Error(`not a failure: ${outcome.type}`);
  return outcome.data as { failure: string; reason: string };
}

export function externalIdOf(outcome: { type: string; data: object }): string {
  if (outcome.type !== 'SalesforceAccountCreated') throw new Error(`not created: ${outcome.type}`);
  return (outcome.data as { externalId: string }).externalId;
}

/** An emulator on a free port and an authorised jsforce connection to it. */
export async function emulatorAndConnection(
  timeoutMs = 5_000,
): Promise<{ emulator: SalesforceEmulator; conn: Connection }> {
  const emulator = await startSalesforceEmulator({ port: 0 });
  try {
    const { loginUrl, clientId, clientSecret } = emulator;
    return {
      emulator,
      conn: await connectSalesforce({ loginUrl, clientId, clientSecret, timeoutMs }),
    };
  } catch (err) {
    await emulator.close();
    throw err;
  }
}

/**
 * A suite with its own emulator and jsforce connection (`timeoutMs` per call), reset before each
 * test and closed after the suite.
 */
export function salesforceSuite(name: string, timeoutMs = 5_000) {
  const test = suite<{ emulator: SalesforceEmulator; conn: Connection }>(name);
  test.before(async (ctx) => {
    Object.assign(ctx, await emulatorAndConnection(timeoutMs));
  });
  test.after(async (ctx) => {
    await ctx.emulator?.close();
  });
  test.before.each((ctx) => {
    ctx.emulator.reset();
  });
  return test;
}
