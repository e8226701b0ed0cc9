// The private NATS server: `nats-server` from PATH (no npm package ships one without downloading
// it at install or run time), JetStream on, its store in <dir>, listening on 127.0.0.1 only, run
// under a keeper.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrivateServerError } from '../../core/errors.ts';
import { answers } from './address.ts';
import { startKept, type KeptServer } from './kept-server.ts';

/** A graceful stop (SIGTERM), then SIGKILL: JetStream's file store recovers from either. */
export const NATS_STOPPING = {
  stopSignal: 'SIGTERM',
  killSignal: 'SIGKILL',
  graceMs: 10_000,
} as const;

export const natsFiles = (dir: string) => ({
  /** JetStream keeps its store in <dir>/jetstream, as with the repository's nats.conf. */
  store: dir,
  pidFile: join(dir, 'server.pid'),
  logFile: join(dir, 'server.log'),
});

/** The message for a machine without nats-server: `why` says why rtws had to start one. */
export function noNatsServer(why: string): string {
  return [
    `cannot start a private NATS server (${why}): there is no nats-server on PATH.`,
    'Install nats-server (2.9 or later), make sure it is on PATH, and start rtws again:',
    "  - from your distribution's package, e.g. `sudo apt install nats-server` (Debian, Ubuntu);",
    '  - with Homebrew: `brew install nats-server`;',
    '  - or from the release archive for your system at https://github.com/nats-io/nats-server/releases',
    '    (unpack it and put the nats-server binary in a folder on PATH).',
    'Or point NATS_URL at a NATS server with JetStream.',
  ].join('\n');
}

/** The nats-server binary PATH names, or undefined. */
export function natsServerOnPath(path: string | undefined): string | undefined {
  const name = process.platform === 'win32' ? 'nats-server.exe' : 'nats-server';
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Starts `binary` on `port` with its store in `dir`; resolves once it takes connections. */
export async function startNats(
  binary: string,
  dir: string,
  port: number,
  env: NodeJS.ProcessEnv,
): Promise<KeptServer> {
  const files = natsFiles(dir);
  mkdirSync(dir, { recursive: true });
  const kept = startKept(
    {
      command: binary,
      args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', files.store, '-n', 'rtws'],
      ...NATS_STOPPING,
      pidFile: files.pidFile,
    },
    { logFile: files.logFile, env },
  );
  const deadline = Date.now() + 30_000;
  while (!(await answers({ host: '127.0.0.1', port }))) {
    const failure = kept.hasExited()
      ? 'stopped at start'
      : Date.now() > deadline
        ? 'did not take connections within 30 s'
        : undefined;
    if (failure) {
      await kept.stop();
      throw new PrivateServerError(`the private nats-server ${failure}:\n${kept.logTail()}`);
    }
    await sleep(50);
  }
  return kept;
}
