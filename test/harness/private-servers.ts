// Private nats-server and Postgres instances for the fault tests, which kill and restart them.
// They run in the test's process group, so the test runner's group kill reaps them even when a
// test dies; stop() is still always called from a finally block.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, chownSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reachable } from './services.ts';

const NATS_SERVER = process.env.RTWS_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const PG_BIN = process.env.RTWS_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const live = new Set<() => void>();
process.once('exit', () => {
  for (const kill of live) kill();
});

export interface PrivateServer {
  readonly url: string;
  /** Where it keeps its data (NATS: the JetStream store). */
  readonly dir?: string;
  /** Crash it: SIGKILL for NATS, an immediate shutdown (no checkpoint) for Postgres. */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** Stop it for good and remove its data. */
  stop(): Promise<void>;
}

export async function privateNats(): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rtws-nats-'));
  let child: ChildProcess | undefined;
  const kill = () => child?.kill('SIGKILL');
  const server: PrivateServer = {
    url: `nats://127.0.0.1:${port}`,
    dir,
    async start() {
      child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
        stdio: 'ignore',
      });
      live.add(kill);
      await waitFor(() => reachable('127.0.0.1', port), `nats-server on ${port}`);
    },
    async crash() {
      const c = child;
      if (!c) return;
      c.kill('SIGKILL');
      await exited(c);
      live.delete(kill);
    },
    async stop() {
      await server.crash();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

export async function privatePostgres(): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rtws-pg-'));
  const data = join(dir, 'data');
  // Postgres refuses to run as root; on a root-run machine it runs as the postgres user.
  const asRoot = process.getuid?.() === 0;
  const pgUser = asRoot
    ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    : undefined;
  const pgGroup = asRoot
    ? Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    : undefined;
  if (pgUser !== undefined && pgGroup !== undefined) chownSync(dir, pgUser, pgGroup);
  const run = (bin: string, args: string[]) =>
    asRoot
      ? (['runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]] as const)
      : ([join(PG_BIN, bin), args] as const);

  const [initCmd, initArgs] = run('initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
  ]);
  execFileSync(initCmd, [...initArgs], { stdio: 'ignore' });

  let child: ChildProcess | undefined;
  const postmasterPid = (): number | undefined => {
    const file = join(data, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    return Number(readFileSync(file, 'utf8').split('\n')[0]);
  };
  const kill = () => {
    const pid = postmasterPid();
    if (pid) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // gone
      }
    }
  };
  const server: PrivateServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      const [cmd, args] = run('postgres', [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'max_connections=200',
      ]);
      child = spawn(cmd, [...args], { stdio: 'ignore' });
      live.add(kill);
      // The port opens before recovery ends; wait until it accepts connections.
      await waitFor(async () => {
        try {
          execFileSync(join(PG_BIN, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
          return true;
        } catch {
          return false;
        }
      }, `postgres on ${port}`);
    },
    async crash() {
      const c = child;
      if (!c) return;
      kill(); // SIGQUIT: immediate shutdown, crash recovery on the next start
      await exited(c);
      live.delete(kill);
    },
    async stop() {
      await server.crash();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
