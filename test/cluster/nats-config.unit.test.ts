// deploy/nats's node configs are the template's output: editing one by hand, or the template
// without writing them again, fails here.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clusterConfigs, DEPLOY_NODES } from '../../deploy/nats/cluster-config.ts';

const deployed = (file: string) =>
  readFileSync(new URL(`../../deploy/nats/${file}`, import.meta.url), 'utf8');

test('the node files are the template written with the deploy ports', () => {
  const configs = clusterConfigs(DEPLOY_NODES);
  assert.equal([...configs.keys()], ['node-1.conf', 'node-2.conf', 'node-3.conf']);
  for (const [file, text] of configs)
    assert.is(deployed(file), text, `${file}: run npx tsx deploy/nats/cluster-config.ts`);
});

test('each node listens on its own ports and store, and routes to the other two', () => {
  const configs = [...clusterConfigs(DEPLOY_NODES).values()];
  DEPLOY_NODES.forEach((node, i) => {
    const text = configs[i]!;
    assert.match(text, `port: ${node.clientPort}\n`);
    assert.match(text, `port: ${node.clusterPort}\n`);
    assert.match(text, `store_dir: "${node.storeDir}"`);
    const routes = [...text.matchAll(/nats-route:\/\/[\d.]+:(\d+)/g)].map((m) => Number(m[1]));
    const others = DEPLOY_NODES.filter((o) => o !== node).map((o) => o.clusterPort);
    assert.equal(routes, others);
  });
  assert.equal(
    DEPLOY_NODES.map((n) => [n.clientPort, n.clusterPort]),
    [
      [4222, 6222],
      [4223, 6223],
      [4224, 6224],
    ],
  );
});

test('no placeholder is left', () => {
  for (const text of clusterConfigs(DEPLOY_NODES).values()) assert.not.match(text, '{{');
});

test.run();
