import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsforce from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import {
  StateFileError,
  startSalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection } from './connect.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'sf-emulator-'));
const running: SalesforceEmulator[] = [];

async function start(): Promise<SalesforceEmulator> {
  const emulator = await startSalesforceEmulator({ dataDir, persistDelayMs: 20 });
  running.push(emulator);
  return emulator;
}

test.after(async () => {
  await Promise.all(running.map((e) => e.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

test('records, ids, credentials and sessions survive a restart with the same dataDir', async () => {
  const first = await start();
  const conn = await clientCredentialsConnection(first);
  const { id } = await conn.sobject('Account').create({ Name: 'Durable', Rtws_Id__c: 'keep-1' });
  const gone = await conn.sobject('Account').create({ Name: 'Deleted', Rtws_Id__c: 'keep-2' });
  await conn.sobject('Account').destroy(gone.id!);
  const credentials = {
    clientId: first.clientId,
    clientSecret: first.clientSecret,
    orgId: first.orgId,
  };
  await first.close();

  const second = await start();
  assert.equal(
    { clientId: second.clientId, clientSecret: second.clientSecret, orgId: second.orgId },
    credentials,
  );
  // The old session is still valid on the restarted emulator (only the port moved).
  const resumed = new jsforce.Connection({
    instanceUrl: second.loginUrl,
    accessToken: conn.accessToken!,
  });
  const record = await resumed.sobject('Account').retrieve(id!);
  assert.is(record.Name, 'Durable');
  const upserted = await resumed
    .sobject('Account')
    .upsert({ Rtws_Id__c: 'keep-1', Name: 'Still unique' }, 'Rtws_Id__c');
  assert.is(
    (upserted as { created?: boolean }).created,
    false,
    'the external-id index was rebuilt',
  );
  const deleted = await resumed.query("SELECT Id FROM Account WHERE Rtws_Id__c = 'keep-2'", {
    scanAll: true,
  });
  assert.is(deleted.totalSize, 1);
  const next = await resumed.sobject('Account').create({ Name: 'New after restart' });
  assert.is.not(next.id, id);
});

test('saving is debounced to one file, written atomically', async () => {
  const emulator = running[running.length - 1]!;
  const conn = await clientCredentialsConnection(emulator);
  await conn
    .sobject('Contact')
    .create(Array.from({ length: 50 }, (_, i) => ({ LastName: `L${i}` })));
  await emulator.flush();
  assert.equal(readdirSync(dataDir), ['salesforce-emulator.json']);
});

test('close() leaves nothing listening', async () => {
  const emulator = running[running.length - 1]!;
  await emulator.close();
  const refused = await fetch(`${emulator.loginUrl}/services/data/`).then(
    () => false,
    () => true,
  );
  assert.ok(refused);
});

test('an unreadable state file stops startup with StateFileError', async () => {
  const broken = mkdtempSync(join(tmpdir(), 'sf-emulator-broken-'));
  try {
    writeFileSync(join(broken, 'salesforce-emulator.json'), '{"format":2}');
    const err = await startSalesforceEmulator({ dataDir: broken }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, StateFileError);
  } finally {
    rmSync(broken, { recursive: true, force: true });
  }
});

test.run();
