// The private Postgres's binaries load whether or not the install made the platform package's
// library links (its postinstall script, which an install may skip): missing links are made in
// rtws's data folder and handed to the binaries through the loader's library path.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformPackageRoot, postgresBinaries } from '../../deploy/private/postgres-binaries.ts';

const test = suite<{ dir: string }>('private Postgres libraries');

test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'rtws-pglib-'));
});
test.after((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

const version = (bin: string, env: NodeJS.ProcessEnv) =>
  execFileSync(bin, ['--version'], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

test('with the links installed, the binaries run as they are', (ctx) => {
  const root = platformPackageRoot();
  const bins = postgresBinaries(root, join(ctx.dir, 'unused'), { PATH: '/usr/bin:/bin' });
  assert.equal(bins.env, { PATH: '/usr/bin:/bin' }, 'nothing added');
  assert.match(version(bins.postgres, bins.env), /postgres \(PostgreSQL\) \d+/);
  assert.equal(readdirSync(ctx.dir), [], 'nothing written');
});

test('with the links missing, they are made in the data folder and the binaries run', (ctx) => {
  const installed = platformPackageRoot();
  // The package as an install that skipped its script leaves it: every file, no link.
  const root = join(ctx.dir, 'package');
  const links = JSON.parse(readFileSync(join(installed, 'native', 'pg-symlinks.json'), 'utf8')) as {
    target: string;
  }[];
  assert.ok(links.length > 0, 'the package lists its links');
  const linkNames = new Set(links.map((l) => l.target.split('/').pop()));
  mkdirSync(join(root, 'native', 'bin'), { recursive: true });
  mkdirSync(join(root, 'native', 'lib'));
  // $ORIGIN/../lib is where the binary was found: it must be a copy, not a link to the original.
  copyFileSync(
    join(installed, 'native', 'bin', 'postgres'),
    join(root, 'native', 'bin', 'postgres'),
  );
  chmodSync(join(root, 'native', 'bin', 'postgres'), 0o755);
  for (const f of readdirSync(join(installed, 'native', 'lib')))
    if (!linkNames.has(f))
      symlinkSync(join(installed, 'native', 'lib', f), join(root, 'native', 'lib', f));
  copyFileSync(
    join(installed, 'native', 'pg-symlinks.json'),
    join(root, 'native', 'pg-symlinks.json'),
  );
  const base = { PATH: '/usr/bin:/bin' };
  assert.throws(
    () => version(join(root, 'native', 'bin', 'postgres'), base),
    'without its links the binary does not load',
  );

  const linkDir = join(ctx.dir, 'data', 'postgres', 'lib');
  const bins = postgresBinaries(root, linkDir, base);
  const variable = process.platform === 'darwin' ? 'DYLD_LIBRARY_PATH' : 'LD_LIBRARY_PATH';
  assert.is(bins.env[variable], linkDir);
  assert.equal(readdirSync(linkDir).sort(), [...linkNames].sort());
  assert.match(version(bins.postgres, bins.env), /postgres \(PostgreSQL\) \d+/);
  assert.equal(
    readdirSync(join(root, 'native', 'lib')).filter((f) => linkNames.has(f)),
    [],
    'the package folder is left as it was',
  );
});

test.run();
