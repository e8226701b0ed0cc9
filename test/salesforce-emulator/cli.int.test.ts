import { spawn } from 'node:child_process';
import { once } from 'node:events';
import jsforce from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = new URL('../..', import.meta.url).pathname;

test('the CLI prints its login URL and credentials, serves jsforce, and exits cleanly on SIGTERM', async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'adapters/emulators/salesforce/cli.ts',
      '--port',
      '0',
      '--client-id',
      'cli-client',
      '--client-secret',
      'cli-secret',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    const deadline = Date.now() + 20_000;
    while (!/client secret:.*\n/.test(output) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const loginUrl = /login URL:\s+(\S+)/.exec(output)?.[1];
    assert.ok(loginUrl, output);
    assert.match(output, /client id:\s+cli-client/);
    assert.match(output, /client secret:\s+cli-secret/);
    const conn = new jsforce.Connection({
      oauth2: { loginUrl, clientId: 'cli-client', clientSecret: 'cli-secret' },
    });
    await conn.authorize({ grant_type: 'client_credentials' });
    assert.ok((await conn.sobject('Account').create({ Name: 'From CLI' })).success);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.is(code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test.run();
