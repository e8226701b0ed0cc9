// A private three-node JetStream cluster of nats-server processes on free loopback ports, each
// with its own store in a temp directory, configured from deploy/nats's template. Stopped for
// good by stop(), which the tests call from a finally block; a process exit kills what is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterConfigs, type NatsNode } from '../../deploy/nats/cluster-config.ts';
import { freePort } from './private-servers.ts';
import { reachable } from './services.ts';

const NATS_SERVER = process.env.RTWS_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface ClusterNode extends NatsNode {
  readonly url: string;
  /** SIGKILL: the node is gone at once, as on a machine's loss. */
  kill(): Promise<void>;
  /** Starts a killed node again on its ports and store, as a machine coming back. */
  restart(): Promise<void>;
  /** The node's process id while it runs. */
  pid(): number | undefined;
}

export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's client URL: the seeds a client is given. */
  readonly urls: readonly string[];
  /** The temp directory of the configs and stores, removed by stop(). */
  readonly dir: string;
  /** Resolves once every live node knows the JetStream meta leader. */
  metaLeader(timeoutMs?: number): Promise<string>;
  /** Kills every node and removes the temp directory. */
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export async function natsCluster(size = 3): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rtws-nats-cluster-'));
  const nodes: NatsNode[] = [];
  for (let i = 1; i <= size; i++) {
    const [clientPort, clusterPort, monitorPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const storeDir = join(dir, `node-${i}`);
    nodes.push({
      name: `node-${i}`,
      host: '127.0.0.1',
      clientPort,
      clusterPort,
      monitorPort,
      storeDir,
    });
  }
  for (const [file, text] of clusterConfigs(nodes)) writeFileSync(join(dir, file), text);
  const running = new Map<string, ChildProcess>();
  const cluster: NatsCluster = {
    nodes: nodes.map((node) => ({
      ...node,
      url: `nats://${node.host}:${node.clientPort}`,
      kill: () => kill(running, node.name),
      pid: () => running.get(node.name)?.pid,
      async restart() {
        if (running.has(node.name)) return;
        start(node);
        await listening(node.host, node.clientPort);
      },
    })),
    urls: nodes.map((node) => `nats://${node.host}:${node.clientPort}`),
    dir,
    metaLeader: (timeoutMs = 30_000) => metaLeader(nodes, running, timeoutMs),
    async stop() {
      await Promise.all(nodes.map((node) => kill(running, node.name)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  function start(node: NatsNode): void {
    const child = spawn(NATS_SERVER, ['-c', join(dir, `${node.name}.conf`)], { stdio: 'ignore' });
    children.add(child);
    running.set(node.name, child);
  }
  try {
    for (const node of nodes) start(node);
    await Promise.all(nodes.map((node) => listening(node.host, node.clientPort)));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

async function kill(running: Map<string, ChildProcess>, name: string): Promise<void> {
  const child = running.get(name);
  if (!child) return;
  running.delete(name);
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  children.delete(child);
}

async function listening(host: string, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await reachable(host, port))) {
    if (Date.now() > deadline) throw new Error(`nats-server on ${port} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The meta leader as every live node's monitoring endpoint (/jsz) reports it. */
async function metaLeader(
  nodes: readonly NatsNode[],
  running: Map<string, ChildProcess>,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = nodes.filter((node) => running.has(node.name));
    const leaders = await Promise.all(live.map((node) => reportedLeader(node)));
    const [first] = leaders;
    if (first && leaders.every((leader) => leader === first)) return first;
    if (Date.now() > deadline) throw new Error(`no JetStream meta leader within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function reportedLeader(node: NatsNode): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${node.host}:${node.monitorPort}/jsz`);
    const jsz = (await res.json()) as { meta_cluster?: { leader?: string } };
    return jsz.meta_cluster?.leader || undefined;
  } catch {
    return undefined;
  }
}
