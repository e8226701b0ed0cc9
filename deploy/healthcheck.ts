// A container's health check, for images with node and nothing else (no curl, no wget):
//   node dist/deploy/healthcheck.js /readyz            this container's rtws, at its HOST and PORT
//   node dist/deploy/healthcheck.js http://host:port/path   any other server, such as an emulator
// Exits 0 on a 2xx answer within the timeout, 1 otherwise, printing why.
import { loadConfig, type Env } from '../core/config.ts';

const TIMEOUT_MS = 4_000;

/** The URL to ask: a full URL as given, or a path on the server this environment configures. */
export function healthUrl(target: string, env: Env): string {
  if (/^https?:\/\//.test(target)) return target;
  const { host, port } = loadConfig(env);
  // Listening on every address, the server answers on loopback.
  const address = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}${target}`;
}

async function check(target: string): Promise<number> {
  let url = target;
  try {
    url = healthUrl(target, process.env);
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (response.ok) return 0;
    console.error(`${url}: ${response.status} ${await response.text()}`);
  } catch (err) {
    console.error(`${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await check(process.argv[2] ?? '/readyz');
}
