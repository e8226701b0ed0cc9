// The keeper of one private server: a small process between rtws and the server it started, which
// stops the server when rtws goes, however it goes.
//
// rtws starts it detached (its own session), so a Ctrl-C in rtws's terminal reaches rtws alone,
// and rtws stops its servers once it has drained. rtws holds the write end of this process's
// stdin: its end, when rtws closes it or when rtws dies (the kernel closes it, even after a
// SIGKILL), is the signal to stop the server. The pid file names rtws, this keeper and the
// server, so a start that finds one left over (this keeper killed too) can stop what it names.
// The server's output, and this keeper's, go to the log file rtws opened as stdout and stderr.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import type { KeeperSpec } from './kept-server.ts';

const spec = JSON.parse(process.argv[2] ?? '') as KeeperSpec;

const server = spawn(spec.command, spec.args, {
  stdio: ['ignore', 'inherit', 'inherit'],
  ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
});
server.once('error', (err) => {
  console.error(`keeper: ${spec.command} did not start: ${err.message}`);
  process.exit(127);
});
if (server.pid !== undefined)
  writeFileSync(
    spec.pidFile,
    JSON.stringify({ owner: spec.owner, keeper: process.pid, server: server.pid }),
  );

let stopping = false;
function stop(why: string): void {
  if (stopping) return;
  stopping = true;
  console.error(`keeper: stopping ${spec.command} (${why})`);
  server.kill(spec.stopSignal);
  // A server that does not stop in time is stopped harder; Postgres's is an immediate shutdown,
  // which the next start recovers from.
  setTimeout(() => server.kill(spec.killSignal), spec.graceMs).unref();
}

process.stdin.on('end', () => stop('rtws closed the pipe or is gone'));
process.stdin.on('error', () => stop('the pipe from rtws broke'));
process.stdin.resume();
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
  process.on(signal, () => stop(signal));

server.once('exit', (code, signal) => {
  rmSync(spec.pidFile, { force: true });
  if (!stopping) console.error(`keeper: ${spec.command} exited by itself (${code ?? signal})`);
  process.exit(code ?? 1);
});
