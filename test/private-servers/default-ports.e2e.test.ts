// A new laptop: nothing set, nothing running, and `npm start` starts a private Postgres and a
// private nats-server on the default ports, serves the API on them, and stops them with itself.
// Run in a network namespace of its own, where nothing answers on 5432 or 4222 whatever this
// machine runs; skipped where no namespace can be made.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { TEST_TOKEN } from '../harness/rtws.ts';
import { alive, privateData } from '../harness/private-data.ts';
import { waitFor } from '../harness/stream.ts';

const test = suite('a new laptop');

/** Whether this process may make a network namespace and enter it (root, unshare, ip, nsenter). */
function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['-n', '--', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
    execFileSync('nsenter', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const DEFAULT_PORTS =
  'with nothing set and nothing running, both start on the default ports, and stop with rtws';
if (canUnshare()) test(DEFAULT_PORTS, onDefaultPorts);
else
  test.skip(
    `${DEFAULT_PORTS} (needs a network namespace: unshare -n, ip and nsenter, as root)`,
    onDefaultPorts,
  );

async function onDefaultPorts(): Promise<void> {
  const data = privateData();
  const root = new URL('../../', import.meta.url).pathname;
  const child = spawn(
    'unshare',
    ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"'].concat([
      process.execPath,
      '--import',
      'tsx',
      'deploy/main.ts',
    ]),
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        RTWS_DATA_DIR: data.dir,
        RTWS_API_TOKEN: TEST_TOKEN,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  try {
    await waitFor(
      async () => out,
      (o) => /Salesforce:/.test(o) || child.exitCode !== null,
      45_000,
    );
    assert.match(out, 'Postgres:    postgres://postgres@127.0.0.1:5432/rtws');
    assert.match(out, 'nothing answered on 127.0.0.1:5432');
    assert.match(out, 'NATS:        nats://127.0.0.1:4222');
    assert.match(out, 'nothing answered on 127.0.0.1:4222');
    const api = /API:\s+(http\S+)/.exec(out)?.[1];
    assert.ok(api, `rtws did not start:\n${out}`);
    const ready = execFileSync('nsenter', [
      `--net=/proc/${child.pid}/ns/net`,
      process.execPath,
      '-e',
      `fetch('${api}/readyz').then((r) => console.log(r.status))`,
    ]).toString();
    assert.is(ready.trim(), '200', 'rtws is ready on its private servers');
    const pids = data.pids();
    child.kill('SIGTERM');
    assert.is(await exited, 0, out);
    assert.not.ok(alive(pids.postgres!.server) || alive(pids.nats!.server), 'both stopped');
  } finally {
    child.kill('SIGKILL');
    process.off('exit', reap);
    await exited;
    await data.remove();
  }
}

test.run();
