// The console's files, read once when the server starts: the pages and modules of
// adapters/http/console/, and Preact with htm (one ES module, no bundler) from the installed
// package. Held in memory and named by a fixed table, so that no request path ever reaches the
// file system.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** A strong validator: the content's digest. */
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Where the vendored module is served, relative to the console: the app imports it by this. */
export const VENDOR_MODULE = 'vendor/preact-htm.js';

function asset(body: Buffer, type: string): Asset {
  const digest = createHash('sha256').update(body).digest('base64url').slice(0, 22);
  return { body, type, etag: `"${digest}"` };
}

/** The console's files by their path under the console (`index.html`, `app.js`, …). */
export function loadConsoleAssets(
  dir = new URL('./console/', import.meta.url).pathname,
): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, asset(readFileSync(join(dir, name)), type));
  }
  // The package exports its ESM entry as standalone.mjs; the browser build beside it is the same
  // module, named for browsers.
  const entry = fileURLToPath(import.meta.resolve('htm/preact/standalone'));
  const vendor = join(dirname(entry), 'standalone.module.js');
  assets.set(VENDOR_MODULE, asset(readFileSync(vendor), TYPES['.js']!));
  return assets;
}
