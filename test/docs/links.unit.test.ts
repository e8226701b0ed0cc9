// The README sends readers on to docs/ and to the folders' own READMEs. When a file or a section
// moves, a link to it breaks silently on GitHub; this fails instead, naming the file and line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { anchors, relativeLinks } from './markdown-links.ts';

const root = new URL('../..', import.meta.url).pathname;

/** Every Markdown file of the project: dependencies and dot-folders (git, local data) are not. */
function markdownFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) markdownFiles(path, out);
    else if (name.endsWith('.md')) out.push(path);
  }
  return out.sort();
}

/** What is wrong with each relative link of one file: a missing file, or a missing heading. */
function brokenLinks(file: string): string[] {
  const broken: string[] = [];
  for (const link of relativeLinks(readFileSync(file, 'utf8'))) {
    const where = `${relative(root, file)}:${link.line} → ${link.target}`;
    const target = link.path === '' ? file : resolve(dirname(file), link.path);
    if (!existsSync(target)) broken.push(`${where}: no such file`);
    else if (link.anchor !== undefined && target.endsWith('.md')) {
      if (!anchors(readFileSync(target, 'utf8')).has(link.anchor)) {
        broken.push(`${where}: no such heading`);
      }
    }
  }
  return broken;
}

const files = markdownFiles(root);

test('the README, docs/ and the folders’ READMEs link only to files and headings that exist', () => {
  assert.ok(files.includes(join(root, 'README.md')) && files.length > 3, 'the files were found');
  assert.equal(files.flatMap(brokenLinks), []);
});

test('the README links to the design notes and the benchmarks in docs/', () => {
  const targets = relativeLinks(readFileSync(join(root, 'README.md'), 'utf8')).map((l) => l.path);
  assert.ok(targets.includes('docs/design.md'), 'docs/design.md');
  assert.ok(targets.includes('docs/benchmarks.md'), 'docs/benchmarks.md');
});

test('links in code and to other sites are not checked; a same-file anchor is', () => {
  const md = [
    '# Two `words` here',
    '[a](https://example.com/x.md) `[b](nowhere.md)` [c](#two-words-here) [d](../x.md#y)',
    '```sh',
    '[e](also-nowhere.md)',
    '# not a heading',
    '```',
    '[ref]: docs/z.md',
  ].join('\n');
  assert.equal(
    relativeLinks(md).map((l) => [l.path, l.anchor]),
    [
      ['', 'two-words-here'],
      ['../x.md', 'y'],
      ['docs/z.md', undefined],
    ],
  );
  assert.equal([...anchors(md)], ['two-words-here']);
});

test('a repeated heading gets a numbered anchor, as on GitHub', () => {
  assert.equal(
    [...anchors('## Inbound\n\n## Inbound\n## What bounds it?')],
    ['inbound', 'inbound-1', 'what-bounds-it'],
  );
});

test.run();
