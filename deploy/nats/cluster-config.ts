// The three-node cluster's configs, written from one template: the deploy files are this module's
// output with the ports of the README, and the cluster tests render it on free ports.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One node of the cluster: where it listens and where it keeps its JetStream store. */
export interface NatsNode {
  readonly name: string;
  readonly host: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  readonly storeDir: string;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export const TEMPLATE_PATH = here('node.conf.template');

/** The nodes of deploy/nats: clients on 4222-4224, routes on 6222-6224, monitoring on 8222-8224. */
export const DEPLOY_NODES: readonly NatsNode[] = [1, 2, 3].map((i) => ({
  name: `node-${i}`,
  host: '127.0.0.1',
  clientPort: 4221 + i,
  clusterPort: 6221 + i,
  monitorPort: 8221 + i,
  // Relative to the directory nats-server starts in: the repository's root.
  storeDir: `./.rtws-data/nats/node-${i}`,
}));

/** The config of `node`, routed to every other node of `cluster`. */
export function renderNode(template: string, node: NatsNode, cluster: readonly NatsNode[]): string {
  const routes = cluster
    .filter((other) => other.name !== node.name)
    .map((other) => `    nats-route://${other.host}:${other.clusterPort}`)
    .join('\n');
  const values: Record<string, string> = {
    NAME: node.name,
    HOST: node.host,
    CLIENT_PORT: String(node.clientPort),
    CLUSTER_PORT: String(node.clusterPort),
    MONITOR_PORT: String(node.monitorPort),
    STORE_DIR: node.storeDir,
    ROUTES: routes,
  };
  const own = template.replace(/^##.*\n/gm, '');
  return own.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`node.conf.template: unknown placeholder {{${key}}}`);
    return value;
  });
}

/** The text of every node's config, by file name (`node-1.conf` …). */
export function clusterConfigs(cluster: readonly NatsNode[]): Map<string, string> {
  const template = readFileSync(TEMPLATE_PATH, 'utf8');
  return new Map(cluster.map((node) => [`${node.name}.conf`, renderNode(template, node, cluster)]));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, text] of clusterConfigs(DEPLOY_NODES)) writeFileSync(here(file), text);
}
