// A data folder for rtws's private servers (RTWS_EMBEDDED), and the clean-up that stops whatever
// its pid files still name, should a test fail before rtws stopped them.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPidFile, type PidFile } from '../../deploy/private/kept-server.ts';

export interface PrivateData {
  readonly dir: string;
  /** What the pid files name now: a kind's entry is missing when its server is not running. */
  pids(): { postgres?: PidFile; nats?: PidFile };
  /** Stops anything still running from this folder, then removes it. */
  remove(): Promise<void>;
}

export function privateData(): PrivateData {
  const dir = mkdtempSync(join(tmpdir(), 'rtws-private-'));
  // As root, Postgres runs as another account, which must reach its data through this folder.
  chmodSync(dir, 0o755);
  const pids = () => {
    const postgres = readPidFile(join(dir, 'postgres', 'server.pid'));
    const nats = readPidFile(join(dir, 'nats', 'server.pid'));
    return { ...(postgres ? { postgres } : {}), ...(nats ? { nats } : {}) };
  };
  return {
    dir,
    pids,
    async remove() {
      const { postgres, nats } = pids();
      for (const p of [postgres, nats]) if (p) kill(p.keeper, 'SIGKILL');
      if (postgres) kill(postgres.server, 'SIGQUIT');
      if (nats) kill(nats.server, 'SIGKILL');
      for (const p of [postgres?.server, nats?.server]) if (p) await gone(p);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether the process runs. A zombie (exited, not yet reaped: an orphan whose new parent does not
 * reap, as in some containers) does not.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

async function gone(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
