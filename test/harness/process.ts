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

/**
 * For a worker the test SIGKILLs and starts again: a restarted worker has a new id and waits for
 * the dead one's leases to lapse, so each takeover takes a lease TTL. Half the default (20 s) with
 * the call timeout that fits it (RTWS_CALL_TIMEOUT_MS, 40% of the TTL less 1 s) keeps the same
 * sequence of a crash (leases held to the end, calls cut off, a successor waiting them out) at
 * half the wait. Tests that stretch a call past 3 s (an emulator delay they rely on) keep the
 * defaults.
 */
export const QUICK_TAKEOVER: Env = { RTWS_LEASE_TTL_MS: '10000', RTWS_CALL_TIMEOUT_MS: '3000' };

export function spawnRtws(env: Env): RtwsProcess {
  return spawnEntry('deploy/main.ts', [], env);
}

/** `npm run rtws -- <args>`: the operator CLI, as a child process. */
export function spawnCli(args: string[], env: Env): RtwsProcess {
  return spawnEntry('deploy/cli.ts', args, env);
}

function spawnEntry(entry: string, args: string[], env: Env): RtwsProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
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
  // A child that ends by itself (the CLI) no longer needs reaping.
  child.once('exit', () => process.off('exit', reap));
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

export interface SandboxBanner {
  api: string;
  stripe: { url: string; key: string };
  webhook: { url: string; secret: string };
  salesforce: { loginUrl: string; clientId: string; clientSecret: string };
}

/** rtws in sandbox mode (no Stripe key), and what its banner says once it is up. */
export async function spawnSandbox(
  env: Env,
): Promise<{ process: RtwsProcess; banner: SandboxBanner }> {
  const p = spawnRtws(env);
  const deadline = Date.now() + 30_000;
  while (!/Salesforce:/.test(p.output()) && p.child.exitCode === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const out = p.output();
  const api = /API:\s+(http\S+)/.exec(out);
  const stripe = /Stripe:\s+(http\S+)\s+key (\S+)/.exec(out);
  const webhook = /webhooks:\s+(http\S+)\s+secret (whsec_\S+)/.exec(out);
  const sf = /Salesforce:\s+(http\S+)\s+client id (\S+)\s+client secret (\S+)/.exec(out);
  if (!api || !stripe || !webhook || !sf) {
    await p.kill();
    throw new Error(`the sandbox did not start:\n${out}`);
  }
  return {
    process: p,
    banner: {
      api: api[1]!,
      stripe: { url: stripe[1]!, key: stripe[2]! },
      webhook: { url: webhook[1]!, secret: webhook[2]! },
      salesforce: { loginUrl: sf[1]!, clientId: sf[2]!, clientSecret: sf[3]! },
    },
  };
}

/** The API's URL from a started process's banner; rejects with its output if it never came up. */
export async function apiUrlOf(p: RtwsProcess, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!/API:\s+http/.test(p.output()) && p.child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const url = /API:\s+(http\S+)/.exec(p.output())?.[1];
  if (!url) throw new Error(`rtws did not start:\n${p.output()}`);
  return url;
}
