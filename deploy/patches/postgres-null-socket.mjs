// postgres.js 3.4.x can throw from a setImmediate after a connection closed (nextWrite on a null
// socket, porsager/postgres#1066, #1154, #1208): an uncatchable TypeError that kills the process
// whenever Postgres restarts under load. This applies the guard proposed upstream (#1168/#1176):
// when the socket is gone, closed() has already failed the in-flight queries with
// CONNECTION_CLOSED, so the buffered bytes are dropped instead of written. Runs on install;
// idempotent; warns (and changes nothing) if the source no longer has the known shape.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../node_modules/postgres/', import.meta.url).pathname;
const before = 'function nextWrite(fn) {\n    const x = socket.write(chunk, fn)';
const after =
  'function nextWrite(fn) {\n' +
  '    if (socket === null) { // rtws: guard from porsager/postgres#1176\n' +
  '      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n' +
  '      chunk = nextWriteTimer = null\n' +
  '      return false\n' +
  '    }\n' +
  '    const x = socket.write(chunk, fn)';

let patched = 0;
for (const dir of ['src', 'cjs/src', 'cf/src']) {
  const file = join(root, dir, 'connection.js');
  if (!existsSync(file)) continue;
  const text = readFileSync(file, 'utf8');
  if (text.includes('rtws: guard from porsager/postgres#1176')) continue;
  if (!text.includes(before)) {
    console.warn(`rtws: ${file} has changed shape; the null-socket guard was not applied`);
    continue;
  }
  writeFileSync(file, text.replace(before, after));
  patched++;
}
if (patched) console.log(`rtws: applied the postgres.js null-socket guard to ${patched} file(s)`);
