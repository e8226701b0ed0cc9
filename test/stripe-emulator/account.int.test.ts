// GET /v1/account: one account per emulator, the same id for a data dir across restarts.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidOptionError } from '../../adapters/emulators/stripe/index.ts';
import type { StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { accountKeys } from './fixture-keys.ts';
import { raw, sdk, start } from './support.ts';

let dirs: string[] = [];

async function newDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stripe-emulator-account-'));
  dirs.push(dir);
  return dir;
}

test.after.each(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

/** Starts an emulator, runs `body` against it, and always closes it. */
async function using<T>(
  options: Parameters<typeof start>[0],
  body: (emu: StripeEmulator) => Promise<T>,
): Promise<T> {
  const emu = await start(options);
  try {
    return await body(emu);
  } finally {
    await emu.close();
  }
}

async function retrieveCurrent(emu: StripeEmulator) {
  return sdk(emu).accounts.retrieveCurrent();
}

test('retrieveCurrent answers the account, with the fixture keys and no livemode', async () => {
  await using({}, async (emu) => {
    const account = await retrieveCurrent(emu);
    assert.match(account.id, /^acct_[A-Za-z0-9]{16}$/);
    assert.is(account.id, emu.accountId);
    assert.equal(
      Object.keys(account)
        .filter((k) => k !== 'lastResponse')
        .sort(),
      [...accountKeys].sort(),
    );
    assert.not.ok('livemode' in account);
    assert.is(account.object, 'account');
    assert.is(account.type, 'standard');
    assert.is(account.country, 'US');
    assert.is(account.default_currency, 'usd');
    assert.is(account.email, null);
    assert.is(account.charges_enabled, true);
    assert.is(account.payouts_enabled, true);
    assert.is(account.details_submitted, true);
    assert.equal(account.capabilities, {});
    assert.equal(account.metadata, {});
    assert.is(account.business_profile?.name, null);
    assert.is(account.business_profile?.url, null);
    assert.is(account.business_profile?.support_email, null);
    assert.equal(account.settings?.dashboard, { display_name: null, timezone: 'Etc/UTC' });
    assert.ok(Math.abs((account.created ?? 0) - Date.now() / 1000) < 60);
    const again = await retrieveCurrent(emu);
    assert.is(again.created, account.created);
  });
});

test('a live key sees the same account; reset() keeps it', async () => {
  await using({}, async (emu) => {
    const { id, created } = await retrieveCurrent(emu);
    assert.is((await sdk(emu, {}, 'sk_live_emulator').accounts.retrieveCurrent()).id, id);
    emu.reset();
    const after = await retrieveCurrent(emu);
    assert.is(after.id, id);
    assert.is(after.created, created);
  });
});

test('without a data dir, each emulator is another account', async () => {
  const first = await using({}, (emu) => retrieveCurrent(emu));
  const second = await using({}, (emu) => retrieveCurrent(emu));
  assert.is.not(first.id, second.id);
});

test('the same data dir keeps the id across restarts; another data dir has another', async () => {
  const dir = await newDir();
  const first = await using({ dataDir: dir, persistDebounceMs: 20 }, (emu) => retrieveCurrent(emu));
  const restarted = await using({ dataDir: dir }, async (emu) => {
    assert.is(emu.accountId, first.id);
    return retrieveCurrent(emu);
  });
  assert.is(restarted.id, first.id);
  assert.is(restarted.created, first.created);
  const other = await using({ dataDir: await newDir() }, (emu) => retrieveCurrent(emu));
  assert.is.not(other.id, first.id);
});

test('the accountId option wins, and is what the data dir keeps', async () => {
  assert.is(
    await using({ accountId: 'acct_Given' }, async (emu) => (await retrieveCurrent(emu)).id),
    'acct_Given',
  );
  const dir = await newDir();
  const minted = await using({ dataDir: dir }, (emu) => Promise.resolve(emu.accountId));
  const chosen = await using({ dataDir: dir, accountId: 'acct_Chosen1' }, async (emu) => {
    assert.is(emu.accountId, 'acct_Chosen1');
    return (await retrieveCurrent(emu)).id;
  });
  assert.is(chosen, 'acct_Chosen1');
  assert.is.not(minted, chosen);
  assert.is(
    await using({ dataDir: dir }, async (emu) => (await retrieveCurrent(emu)).id),
    'acct_Chosen1',
  );
});

test('a malformed accountId is refused at start', async () => {
  for (const bad of ['acct_', 'acct_a-b', 'cus_abc', `acct_${'a'.repeat(65)}`, ' acct_x']) {
    // An emulator that wrongly starts is closed before the test fails.
    const error = await start({ accountId: bad }).then(
      async (emu) => {
        await emu.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    assert.instance(error, InvalidOptionError, `${bad} was not refused`);
    assert.is((error as InvalidOptionError).option, 'accountId');
    assert.match((error as InvalidOptionError).message, /acct_/);
  }
  await using({ accountId: `acct_${'a'.repeat(64)}` }, async (emu) => {
    assert.is(emu.accountId.length, 69);
  });
});

test('auth and params as every /v1 route', async () => {
  await using({}, async (emu) => {
    const anonymous = await fetch(`${emu.url}/v1/account`);
    assert.is(anonymous.status, 401);
    await anonymous.body?.cancel();
    const unknown = await raw(emu, 'GET', '/v1/account?foo=bar');
    assert.is(unknown.status, 400);
    assert.is(unknown.json.error.code, 'parameter_unknown');
    assert.is(unknown.json.error.param, 'foo');
    const expanded = await raw(emu, 'GET', '/v1/account?expand[0]=settings');
    assert.is(expanded.status, 200);
    assert.is(expanded.json.id, emu.accountId);
    assert.is((await raw(emu, 'POST', '/v1/account')).status, 404);
  });
});

/** Runs the CLI until it prints its URL (answering it) or exits (answering its stderr). */
async function runCli(args: string[], body: (url: string) => Promise<void>): Promise<string> {
  const entry = new URL('../../adapters/emulators/stripe/cli.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', entry, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      const listening = /listening on (\S+)/.exec(line);
      if (listening) {
        await body(listening[1]!);
        break;
      }
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
  return stderr;
}

test('the CLI takes --account-id and refuses a malformed one', async () => {
  let answered = false;
  await runCli(['--account-id', 'acct_FromCli'], async (url) => {
    const res = await fetch(`${url}/v1/account`, {
      headers: { Authorization: 'Bearer sk_test_cli' },
    });
    assert.is(((await res.json()) as { id: string }).id, 'acct_FromCli');
    answered = true;
  });
  assert.ok(answered);
  const stderr = await runCli(['--account-id', 'nope'], () => {
    throw new Error('a malformed --account-id must not start');
  });
  assert.match(stderr, /stripe-emulator: accountId must be acct_/);
});

test.run();
