// The README's configuration table is the variable table's: `npm run docs:config` writes it, and
// this fails when someone edits one without the other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { VARIABLES, configTable } from '../../core/config.ts';
import { withConfigTable } from '../../deploy/config-docs.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('the README shows the configuration table generated from core/config.ts', () => {
  assert.ok(
    readme === withConfigTable(readme),
    'README.md differs from core/config.ts: run `npm run docs:config`',
  );
});

test('every variable has a row, in the table order', () => {
  const names = [...configTable().matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.equal(
    names,
    VARIABLES.map((v) => v.name),
  );
});

test('a changed doc makes the README differ', () => {
  const stale = readme.replace('Postgres connection URL;', 'Postgres URL;');
  assert.is.not(stale, readme, 'the sample edit applies');
  assert.is.not(withConfigTable(stale), stale);
});

test.run();
