// `npm run docs:config`: writes the README's configuration table from the variable table in
// core/config-schema.ts, the one source of every variable, its default and its meaning.
import { readFileSync, writeFileSync } from 'node:fs';
import { configTable } from '../core/config.ts';

const README = new URL('../README.md', import.meta.url);

/** The README with its configuration table replaced: the lines from the header to the first blank. */
export function withConfigTable(readme: string): string {
  const lines = readme.split('\n');
  const start = lines.indexOf('| variable | default | meaning |');
  if (start < 0) throw new Error('README.md has no configuration table header');
  let end = start;
  while (end < lines.length && lines[end]!.startsWith('|')) end++;
  return [...lines.slice(0, start), configTable(), ...lines.slice(end)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const before = readFileSync(README, 'utf8');
  const after = withConfigTable(before);
  writeFileSync(README, after);
  console.log(
    after === before ? 'README.md: the table was up to date' : 'README.md: table written',
  );
}
