// The Postgres and NATS servers rtws starts by itself (see RTWS_EMBEDDED), so that a machine with
// neither running needs one command. Each keeps its data under RTWS_DATA_DIR across restarts and
// stops with rtws: on SIGTERM and SIGINT through `close`, and after a crash through its keeper.
// What an earlier rtws left running in the same folder is stopped before anything is decided.
// Where rtws starts none and the configured server does not answer, the start fails here and says
// why none was started in its place.
import { join, resolve } from 'node:path';
import type { Config } from '../../core/config.ts';
import { PrivateServerError, ServerUnreachableError } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';
import type { PrivateServerKind, NoPrivateServerReason } from '../../core/private-servers.ts';
import { addressOf, answers, show, type Address } from './address.ts';
import { stopLeftover, type KeptServer } from './kept-server.ts';
import { NATS_STOPPING, natsFiles, natsServerOnPath, noNatsServer, startNats } from './nats.ts';
import { POSTGRES_STOPPING, postgresFiles, startPostgres } from './postgres.ts';

export interface PrivateServer {
  readonly kind: PrivateServerKind;
  readonly url: string;
  /** Where its data is kept across restarts. */
  readonly dir: string;
  /** Why rtws started it. */
  readonly why: string;
}

export interface PrivateServers {
  /** The configuration pointing at the private servers. */
  readonly config: Config;
  readonly started: readonly PrivateServer[];
  /** Stops them; call it once rtws has closed its connections. */
  close(): Promise<void>;
}

const NAMES: Record<PrivateServerKind, { server: string; url: string; port: string }> = {
  postgres: { server: 'Postgres', url: 'DATABASE_URL', port: 'RTWS_EMBEDDED_POSTGRES_PORT' },
  nats: { server: 'NATS', url: 'NATS_URL', port: 'RTWS_EMBEDDED_NATS_PORT' },
};

export async function startPrivateServers(
  config: Config,
  log: Logger,
  env: NodeJS.ProcessEnv,
): Promise<PrivateServers> {
  const dataDir = resolve(config.dataDir);
  const dirs = { postgres: join(dataDir, 'postgres'), nats: join(dataDir, 'nats') };
  const why = {
    postgres: await decide('postgres', config, dirs.postgres, log),
    nats: await decide('nats', config, dirs.nats, log),
  };
  // Checked before anything starts, so a missing binary leaves nothing running.
  const natsBinary = why.nats ? natsServerOnPath(env.PATH) : undefined;
  if (why.nats && !natsBinary) throw new PrivateServerError(noNatsServer(why.nats));

  const ports = { postgres: config.embedded.postgresPort, nats: config.embedded.natsPort };
  for (const kind of ['postgres', 'nats'] as const) {
    if (why[kind] && (await answers({ host: '127.0.0.1', port: ports[kind] })))
      throw new PrivateServerError(
        `the private ${NAMES[kind].server} cannot listen on 127.0.0.1:${ports[kind]}: another ` +
          `server does. Set ${NAMES[kind].port} to a free port.`,
      );
  }
  const serverEnv = withoutSettings(env);
  const starts = await Promise.allSettled([
    why.postgres ? startPostgres(dirs.postgres, ports.postgres, serverEnv) : undefined,
    natsBinary ? startNats(natsBinary, dirs.nats, ports.nats, serverEnv) : undefined,
  ]);
  const kept = starts.flatMap((s) => (s.status === 'fulfilled' && s.value ? [s.value] : []));
  const close = async () => {
    await Promise.all(kept.map((k: KeptServer) => k.stop()));
  };
  const failed = starts.find((s) => s.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }

  const started: PrivateServer[] = [];
  let databaseUrl = config.databaseUrl;
  let natsServers = config.natsServers;
  if (why.postgres) {
    const u = new URL(config.databaseUrl);
    u.hostname = '127.0.0.1';
    u.port = String(ports.postgres);
    databaseUrl = u.toString();
    started.push({ kind: 'postgres', url: databaseUrl, dir: dirs.postgres, why: why.postgres });
  }
  if (why.nats) {
    natsServers = [`nats://127.0.0.1:${ports.nats}`];
    started.push({ kind: 'nats', url: natsServers[0]!, dir: dirs.nats, why: why.nats });
  }
  for (const s of started)
    log.info({ url: s.url, dir: s.dir }, `private ${NAMES[s.kind].server} started`);
  return {
    config: Object.freeze({ ...config, databaseUrl, natsServers: Object.freeze(natsServers) }),
    started,
    close,
  };
}

/** The environment without rtws's own settings, its secrets among them: the servers need none. */
function withoutSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([k]) => !/^(RTWS_|STRIPE_|SALESFORCE_)/.test(k) && k !== 'DATABASE_URL' && k !== 'NATS_URL',
    ),
  );
}

/**
 * Why rtws starts a private server of this kind, or undefined when it connects to the configured
 * one, which it checks answers.
 */
async function decide(
  kind: PrivateServerKind,
  config: Config,
  dir: string,
  log: Logger,
): Promise<string | undefined> {
  const plan = config.privateServers[kind];
  if (plan.start !== 'never') {
    // The server's command line names its data folder: a pid reused since is left alone.
    const leftover =
      kind === 'postgres'
        ? { ...POSTGRES_STOPPING, ...postgresFiles(dir), marker: postgresFiles(dir).data }
        : { ...NATS_STOPPING, ...natsFiles(dir), marker: natsFiles(dir).store };
    const left = await stopLeftover(leftover.pidFile, leftover);
    if (left !== undefined)
      log.warn(
        { pid: left, dir },
        `a private ${NAMES[kind].server} left by an earlier rtws was stopped`,
      );
  }
  if (plan.start === 'always') return 'RTWS_EMBEDDED names it';
  const configured = configuredAddresses(kind, config);
  // One address that cannot be told (a socket path, several hosts) is left to the client.
  if (configured.length === 0) return undefined;
  for (const a of configured) if (await answers(a, 5_000)) return undefined;
  const where = configured.map(show).join(', ');
  if (plan.start === 'if_absent') return `nothing answered on ${where}`;
  throw new ServerUnreachableError(unreachable(kind, where, plan.because));
}

function configuredAddresses(kind: PrivateServerKind, config: Config): Address[] {
  if (kind === 'postgres') {
    const a = addressOf(config.databaseUrl, 5432);
    return a ? [a] : [];
  }
  const all = config.natsServers.map((u) => addressOf(u, 4222));
  return all.every((a) => a !== undefined) ? all : [];
}

function unreachable(
  kind: PrivateServerKind,
  where: string,
  because: NoPrivateServerReason,
): string {
  const { server, url } = NAMES[kind];
  const head = `${server} does not answer on ${where}`;
  switch (because) {
    case 'url_set':
      return `${head} (${url}). rtws starts a private ${server} only where ${url} is unset: start that server, or correct ${url}.`;
    case 'off':
      return `${head}, and RTWS_EMBEDDED=off: start one, set ${url}, or unset RTWS_EMBEDDED to let rtws start its own.`;
    case 'stripe_key':
      return (
        `${head}. With STRIPE_SECRET_KEY set, rtws never starts a private ${server} on its own: an ` +
        `empty one must not stand in for a server that is only down. rtws does not wait for it: ` +
        `start it (or set ${url}) and start rtws again.`
      );
  }
}
