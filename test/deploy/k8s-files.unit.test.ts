// deploy/k8s, read without a cluster: the worker Deployment has probes on paths rtws serves and a
// disruption budget that selects it, containers set only variables rtws reads (plain, from the
// ConfigMap, or from the Secret by name), and the NATS chart's values ask for a JetStream cluster.
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../core/config.ts';
import {
  deployPath,
  KNOWN_VARIABLES,
  NOT_RTWS_VARIABLES,
  readYaml,
  readYamlDocuments,
  serverKind,
  serves,
} from './deploy-files.ts';

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}
interface Resource {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: { matchLabels: Record<string, string> } | Record<string, string>;
    maxUnavailable?: number;
    minAvailable?: number;
    ports?: { targetPort: string | number }[];
    template?: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Container[]; securityContext?: { runAsNonRoot?: boolean } };
    };
  };
}

const kustomization = readYaml<{ resources: string[] }>('k8s/kustomization.yaml');
const resources = kustomization.resources.flatMap((file) =>
  readYamlDocuments<Resource>(`k8s/${file}`),
);
const ofKind = (kind: string) => resources.filter((r) => r.kind === kind);
const deployments = ofKind('Deployment');
const configMaps = new Map(ofKind('ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
const rtws = (d: Resource) => d.spec!.template!.spec.containers[0]!;
const roles = (d: Resource) => rtws(d).env!.find((e) => e.name === 'RTWS_ROLES')!.value!;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

test('kustomization lists files that exist', () => {
  for (const file of kustomization.resources)
    assert.ok(existsSync(deployPath(`k8s/${file}`)), file);
});

test('a Deployment of workers and one of api,publisher, both as non-root', () => {
  assert.equal(deployments.map(roles).sort(), ['api,publisher', 'worker']);
  for (const d of deployments)
    assert.is(d.spec!.template!.spec.securityContext?.runAsNonRoot, true, d.metadata.name);
  const worker = deployments.find((d) => roles(d) === 'worker')!;
  assert.ok(worker.spec!.replicas! >= 2, 'several workers');
  const id = rtws(worker).env!.find((e) => e.name === 'RTWS_WORKER_ID');
  assert.is(id?.valueFrom?.fieldRef?.fieldPath, 'metadata.name', 'one worker id per pod');
});

test('containers set only variables rtws reads, secrets by name from the Secret', () => {
  for (const d of deployments) {
    const c = rtws(d);
    for (const e of c.env ?? []) {
      assert.ok(
        KNOWN_VARIABLES.has(e.name) || NOT_RTWS_VARIABLES.has(e.name),
        `${d.metadata.name} sets ${e.name}, which core/config-schema.ts does not know`,
      );
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) assert.is(ref.key, e.name, `${e.name} is read from the Secret key of its name`);
      assert.not.ok(e.value !== undefined && /secret|token|key/i.test(e.name), `${e.name} inline`);
    }
    for (const from of c.envFrom ?? []) {
      assert.not.ok(from.secretRef, 'secrets are named one by one, never imported whole');
      const data = configMaps.get(from.configMapRef!.name);
      assert.ok(data, `ConfigMap ${from.configMapRef!.name} is among the manifests`);
      for (const name of Object.keys(data))
        assert.ok(KNOWN_VARIABLES.has(name), `ConfigMap sets ${name}, which rtws does not read`);
    }
  }
});

test('the plain settings load, for a cluster of three replicas', () => {
  for (const d of deployments) {
    const c = rtws(d);
    const env = Object.fromEntries([
      ...(c.envFrom ?? []).flatMap((f) => Object.entries(configMaps.get(f.configMapRef!.name)!)),
      ...(c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
    ]) as Record<string, string>;
    const config = loadConfig(env);
    assert.is(config.replicas, 3);
    assert.is(config.natsServers.length, 3, 'every node of the NATS StatefulSet is a seed');
    assert.equal([...config.roles].join(','), roles(d));
  }
});

test('every container has liveness and readiness probes on paths its server serves', async () => {
  for (const d of deployments) {
    const c = rtws(d);
    const portNames = (c.ports ?? []).map((p) => p.name);
    const kind = serverKind(roles(d));
    for (const [which, probe] of Object.entries({
      liveness: c.livenessProbe,
      readiness: c.readinessProbe,
      startup: c.startupProbe,
    })) {
      if (which !== 'startup') assert.ok(probe?.httpGet, `${d.metadata.name} has a ${which} probe`);
      if (!probe?.httpGet) continue;
      assert.ok(portNames.includes(String(probe.httpGet.port)), `${which} probe port`);
      assert.ok(
        await serves(kind, probe.httpGet.path),
        `${d.metadata.name}: ${which} probe ${probe.httpGet.path} is served by the ${kind} server`,
      );
    }
    assert.is(c.readinessProbe!.httpGet!.path, '/readyz');
  }
});

test('the disruption budget selects the workers, and the Service the api pods', () => {
  const worker = deployments.find((d) => roles(d) === 'worker')!;
  const api = deployments.find((d) => roles(d).includes('api'))!;
  const [pdb] = ofKind('PodDisruptionBudget');
  assert.ok(pdb, 'a PodDisruptionBudget');
  const pdbSelector = (pdb.spec!.selector as { matchLabels: Record<string, string> }).matchLabels;
  assert.ok(matches(pdbSelector, worker.spec!.template!.metadata.labels));
  assert.not.ok(matches(pdbSelector, api.spec!.template!.metadata.labels));
  assert.ok((pdb.spec!.maxUnavailable ?? 0) >= 1 || pdb.spec!.minAvailable !== undefined);
  const [service] = ofKind('Service');
  assert.ok(service);
  assert.ok(
    matches(service.spec!.selector as Record<string, string>, api.spec!.template!.metadata.labels),
  );
  assert.not.ok(
    matches(
      service.spec!.selector as Record<string, string>,
      worker.spec!.template!.metadata.labels,
    ),
  );
  const ports = (rtws(api).ports ?? []).map((p) => p.name);
  for (const p of service.spec!.ports!) assert.ok(ports.includes(String(p.targetPort)));
});

test("the NATS chart's values ask for three JetStream nodes", () => {
  const values = readYaml<{
    config: { cluster: { enabled: boolean; replicas: number }; jetstream: { enabled: boolean } };
  }>('k8s/nats-values.yaml');
  assert.is(values.config.cluster.enabled, true);
  assert.is(values.config.cluster.replicas, 3);
  assert.is(values.config.jetstream.enabled, true);
  const urls = [...configMaps.values()].map((d) => d.NATS_URL).find(Boolean)!;
  assert.equal(
    urls.split(',').map((u) => new URL(u).hostname),
    [0, 1, 2].map((i) => `nats-${i}.nats-headless`),
    "the chart's pods, for a release named nats",
  );
});

test.run();
