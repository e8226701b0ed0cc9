// rtws as a child process, for the tests that SIGKILL it.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Env } from '../../core/config.ts';

const root = new URL('../../', import.meta.url).pathname;

export interface RtwsProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnRtws(env: Env): RtwsProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'deploy/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  return {
    child,
    exited,
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      process.off('exit', reap);
      return code;
    },
  };
}
