// A private server run under its keeper (keeper.ts), and what an earlier rtws left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrivateServerError } from '../../core/errors.ts';

/** What the keeper is told: the server to run and how to stop it. */
export interface KeeperSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** Root only: the account the server runs as. */
  readonly uid?: number;
  readonly gid?: number;
  readonly stopSignal: NodeJS.Signals;
  /** Sent when the server has not stopped `graceMs` after `stopSignal`. */
  readonly killSignal: NodeJS.Signals;
  readonly graceMs: number;
  readonly pidFile: string;
  /** The rtws process the server belongs to. */
  readonly owner: number;
}

/** The pid file's content, written by the keeper once the server runs, removed once it exited. */
export interface PidFile {
  readonly owner: number;
  readonly keeper: number;
  readonly server: number;
}

export interface KeptServer {
  /** Resolves when the keeper has exited, and so the server too. */
  readonly exited: Promise<void>;
  hasExited(): boolean;
  /** The end of the server's log, to say why it did not start. */
  logTail(): string;
  /** Stops the server through its keeper, and resolves once both exited. */
  stop(): Promise<void>;
}

// From source the keeper is TypeScript, run through tsx; built (deploy/tsconfig.build.json) it is
// JavaScript beside this file and runs on node alone, as the rest of the build does.
const BUILT = import.meta.url.endsWith('.js');
const KEEPER = fileURLToPath(new URL(BUILT ? './keeper.js' : './keeper.ts', import.meta.url));
const LOADER = BUILT ? [] : ['--import', import.meta.resolve('tsx')];

export function startKept(
  spec: Omit<KeeperSpec, 'owner'>,
  options: { logFile: string; env: NodeJS.ProcessEnv },
): KeptServer {
  // One earlier log is kept, for a server that ended badly before this start.
  if (existsSync(options.logFile)) renameSync(options.logFile, `${options.logFile}.1`);
  const log = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    const full: KeeperSpec = { ...spec, owner: process.pid };
    child = spawn(process.execPath, [...LOADER, KEEPER, JSON.stringify(full)], {
      detached: true,
      stdio: ['pipe', log, log],
      env: options.env,
    });
  } finally {
    closeSync(log);
  }
  let done = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      done = true;
      resolve();
    }),
  );
  return {
    exited,
    hasExited: () => done,
    logTail: () => tail(options.logFile),
    async stop() {
      if (done) return;
      child.stdin?.end();
      const waiting = new AbortController();
      const late = sleep(spec.graceMs * 2 + 5_000, 'late' as const, { signal: waiting.signal });
      const outcome = await Promise.race([exited, late.catch(() => undefined)]);
      waiting.abort();
      if (outcome === 'late') {
        // The keeper did not answer: the server it names is stopped here, then the keeper.
        child.kill('SIGKILL');
        await exited;
        await stopLeftover(spec.pidFile, spec);
      }
    },
  };
}

export function readPidFile(file: string): PidFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PidFile;
  } catch {
    return undefined;
  }
}

/**
 * Handles what an earlier rtws left in this folder: a keeper still stopping its server (rtws died
 * and the keeper saw it), or a server whose keeper died too. Either way the server is stopped, so
 * the start begins from its data alone. Returns the pid of a server it had to stop.
 */
export async function stopLeftover(
  pidFile: string,
  how: Pick<KeeperSpec, 'stopSignal' | 'killSignal' | 'graceMs'> & { marker?: string },
): Promise<number | undefined> {
  const left = readPidFile(pidFile);
  if (!left) return undefined;
  const keeper = (): boolean => running(left.keeper, KEEPER);
  const server = (): boolean => running(left.server, how.marker);
  if (keeper() && left.owner !== process.pid && alive(left.owner))
    throw new PrivateServerError(
      `another rtws (pid ${left.owner}) runs the private server whose pid file is ${pidFile}: ` +
        'stop it first, or give this one its own RTWS_DATA_DIR',
    );
  let stopped: number | undefined;
  if (server()) {
    stopped = left.server;
    // A keeper whose rtws is gone is stopping its server already; else it is stopped here.
    if (!keeper()) signal(left.server, how.stopSignal);
    if (!(await until(() => !server(), how.graceMs + 1_000))) {
      signal(left.server, how.killSignal);
      if (!(await until(() => !server(), 10_000)))
        throw new PrivateServerError(
          `a private server left by an earlier rtws (pid ${left.server}) does not stop`,
        );
    }
  }
  await until(() => !keeper(), 5_000);
  rmSync(pidFile, { force: true });
  return stopped;
}

/** Alive, and (where /proc tells) still the process whose command line names `marker`. */
function running(pid: number, marker?: string): boolean {
  return alive(pid) && (!marker || commandNames(pid, marker));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process's command line names `marker`: not a reused pid, nor a zombie. */
function commandNames(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    // No /proc (macOS): the pid file is ours, and a live pid in it is taken as the server.
    return !existsSync('/proc/self');
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
