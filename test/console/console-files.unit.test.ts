// The console's files: served without a token under /console, with their content types, a strict
// Content-Security-Policy and nosniff on every answer (a 404 included), revalidated by ETag; no
// path outside the console's own files is reachable; every module imported is served; and no
// page has an inline script or style.
import { readdirSync, readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CONSOLE_CSP, consoleRoutes } from '../../adapters/http/console.ts';

const test = suite<{ app: FastifyInstance }>('console files');

test.before(async (ctx) => {
  ctx.app = Fastify();
  await consoleRoutes(ctx.app);
});
test.after(async (ctx) => {
  await ctx.app?.close();
});

const get = (app: FastifyInstance, url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers });

test('the page, its modules, its styles and Preact are served with their types', async ({
  app,
}) => {
  const cases: [string, RegExp][] = [
    ['/console/', /^text\/html/],
    ['/console/index.html', /^text\/html/],
    ['/console/app.js', /^text\/javascript/],
    ['/console/console.css', /^text\/css/],
    ['/console/vendor/preact-htm.js', /^text\/javascript/],
  ];
  for (const [url, type] of cases) {
    const res = await get(app, url);
    assert.is(res.statusCode, 200, url);
    assert.match(String(res.headers['content-type']), type, url);
    assert.is(res.headers['cache-control'], 'no-cache', url);
  }
  const bare = await get(app, '/console');
  assert.is(bare.statusCode, 301);
  assert.is(bare.headers.location, '/console/');
});

test('every answer carries the CSP and nosniff, a 404 too', async ({ app }) => {
  for (const url of ['/console', '/console/', '/console/app.js', '/console/nothing.js']) {
    const res = await get(app, url);
    assert.is(res.headers['content-security-policy'], CONSOLE_CSP, url);
    assert.is(res.headers['x-content-type-options'], 'nosniff', url);
  }
  assert.match(CONSOLE_CSP, /script-src 'self'(;|$)/);
  assert.not.match(CONSOLE_CSP, /unsafe-inline|unsafe-eval/);
  assert.match(CONSOLE_CSP, /frame-ancestors 'none'/);
});

test('nothing outside the console files is reachable', async ({ app }) => {
  for (const url of [
    '/console/../package.json',
    '/console/%2e%2e/%2e%2e/package.json',
    '/console/..%2f..%2fconsole.ts',
    '/console/vendor/../../console.ts',
    '/console/console.ts',
  ]) {
    const res = await get(app, url);
    assert.ok(res.statusCode === 404 || res.statusCode === 400, `${url}: ${res.statusCode}`);
    assert.not.match(res.body, /"name": "rtws"|import /, url);
  }
});

test('an unchanged file is answered 304 against its ETag', async ({ app }) => {
  const first = await get(app, '/console/app.js');
  const etag = String(first.headers.etag);
  assert.match(etag, /^"[\w-]+"$/);
  const again = await get(app, '/console/app.js', { 'if-none-match': etag });
  assert.is(again.statusCode, 304);
  assert.is(again.body, '');
});

test('every module the console imports is one it serves', async ({ app }) => {
  const dir = new URL('../../adapters/http/console/', import.meta.url);
  const imported = new Set(['app.js']);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.js'))) {
    const code = readFileSync(new URL(name, dir), 'utf8');
    for (const m of code.matchAll(/^import [^;]*? from '\.\/([^']+)';/gms)) imported.add(m[1]!);
  }
  assert.ok(imported.has('vendor/preact-htm.js'), [...imported].join(', '));
  for (const path of imported) {
    const res = await get(app, `/console/${path}`);
    assert.is(res.statusCode, 200, path);
    assert.match(String(res.headers['content-type']), /^text\/javascript/, path);
  }
});

test('the pages have no inline script, style or event handler', () => {
  const dir = new URL('../../adapters/http/console/', import.meta.url);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.html'))) {
    const page = readFileSync(new URL(name, dir), 'utf8');
    for (const m of page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(m[1]!, /\bsrc=/, `${name}: a script is loaded, not inline`);
      assert.is(m[2]!.trim(), '', `${name}: no inline script`);
    }
    assert.not.match(page, /<style\b|\sstyle=|\son[a-z]+=/i, `${name}: no inline style or handler`);
  }
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.js'))) {
    const code = readFileSync(new URL(name, dir), 'utf8');
    assert.not.match(code, /dangerouslySetInnerHTML|innerHTML|eval\(|new Function/, name);
  }
});

test.run();
