// Reading the deploy files as their tools would, with no Docker engine or cluster at hand: YAML as
// compose and kubectl parse it, compose's `${VAR}` interpolation, env files, the Dockerfile's
// stages, and which paths rtws's HTTP servers serve.
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { VARIABLES, type Env } from '../../core/config.ts';
import { buildProbeServer, buildServer } from '../../adapters/http/server.ts';
import { connectPostgres } from '../../adapters/postgres/connect.ts';

export const deployPath = (file: string) => new URL(`../../deploy/${file}`, import.meta.url);
export const repoPath = (file: string) => new URL(`../../${file}`, import.meta.url);

export const readDeploy = (file: string) => readFileSync(deployPath(file), 'utf8');

/** Every variable rtws reads: the names of the configuration table. */
export const KNOWN_VARIABLES: ReadonlySet<string> = new Set(VARIABLES.map((v) => v.name));

/**
 * Variables an rtws container may carry that rtws itself does not read. None is set today; one
 * added to a deploy file must be named here, on purpose.
 */
export const NOT_RTWS_VARIABLES: ReadonlySet<string> = new Set(['NODE_ENV', 'NODE_OPTIONS']);

/** One YAML document, with compose's `<<` merge keys applied. */
export function readYaml<T>(file: string): T {
  return parse(readDeploy(file), { merge: true }) as T;
}

/** Every document of a multi-document YAML file (Kubernetes manifests). */
export function readYamlDocuments<T>(file: string): T[] {
  return parseAllDocuments(readDeploy(file)).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return d.toJS() as T;
  });
}

/** An env file as compose reads it: KEY=VALUE lines, with comments and blank lines skipped. */
export function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readDeploy(file).split('\n')) {
    const text = line.trim();
    if (!text || text.startsWith('#')) continue;
    const at = text.indexOf('=');
    if (at < 1) throw new Error(`${file}: not KEY=VALUE: ${text}`);
    out[text.slice(0, at)] = text.slice(at + 1);
  }
  return out;
}

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`. */
export function interpolate(text: string, vars: Env): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
    (_, name: string, op: string | undefined, arg: string | undefined) => {
      const value = vars[name];
      const empty = value === undefined || value === '';
      switch (op) {
        case ':-':
          return empty ? (arg ?? '') : value;
        case '-':
          return value ?? arg ?? '';
        case ':?':
        case '?':
          if (op === '?' ? value === undefined : empty)
            throw new Error(`required variable ${name} is missing: ${arg ?? ''}`);
          return value!;
        case undefined:
        default:
          return value ?? '';
      }
    },
  );
}

/** The variable names a text interpolates. */
export function interpolated(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

export interface DockerStage {
  readonly from: string;
  readonly name: string | undefined;
  /** Instructions with their continuation lines joined, comments left out. */
  readonly instructions: readonly string[];
}

export function dockerfileStages(text: string): DockerStage[] {
  const joined = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const stages: { from: string; name: string | undefined; instructions: string[] }[] = [];
  for (const line of joined.split('\n').map((l) => l.trim())) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2], instructions: [] });
    else if (line && stages.length) stages.at(-1)!.instructions.push(line);
  }
  return stages;
}

/** What serves a process's HTTP port: the API with the api role, the probe server without it. */
export type ServerKind = 'api' | 'probes';

export const serverKind = (roles: string): ServerKind =>
  roles.split(',').some((r) => r.trim() === 'api') ? 'api' : 'probes';

/** Whether rtws's server of that kind answers GET at `path`, from its route table. */
export async function serves(kind: ServerKind, path: string): Promise<boolean> {
  const readiness = async () => ({ postgres: true, nats: true, migrations: true });
  if (kind === 'probes') {
    const probes = await buildProbeServer({ logLevel: 'silent', readiness });
    try {
      return probes.hasRoute({ method: 'GET', url: path });
    } finally {
      await probes.close();
    }
  }
  // The routes hold the client without querying it: nothing connects.
  const sql = connectPostgres('postgres://rtws@127.0.0.1:1/routes-only', { max: 1 });
  const api = await buildServer({
    sql,
    apiTokens: [{ name: 'default', scope: 'admin', token: 'x'.repeat(16) }],
    bodyLimit: 1024,
    logLevel: 'silent',
    readiness,
  });
  try {
    return api.hasRoute({ method: 'GET', url: path });
  } finally {
    await api.close();
    await sql.end();
  }
}
