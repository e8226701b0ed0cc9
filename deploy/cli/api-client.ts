// The CLI's client of a running rtws: RTWS_URL (default http://127.0.0.1:8080) with the bearer token
// RTWS_API_TOKEN. Each error becomes a message an operator can act on.
import { ConfigError } from '../../core/errors.ts';
import { ApiError, Unreachable } from './errors.ts';

export interface CliApi {
  readonly url: string;
  get<T = Record<string, unknown>>(path: string): Promise<T>;
  post<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T>;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

interface Problem {
  title?: string;
  detail?: string;
}

function failure(status: number, method: string, path: string, p: Problem): ApiError {
  const said = p.detail ?? p.title ?? '';
  switch (status) {
    case 401:
      return new ApiError(
        status,
        'rtws refused the token (401): set RTWS_API_TOKEN to a valid one',
      );
    case 403:
      // The detail names the scope the route needs and the token's.
      return new ApiError(status, `forbidden (403): ${said}`);
    case 404:
      return new ApiError(status, `not found (404): ${said || `${method} ${path}`}`);
    default:
      return new ApiError(status, `${method} ${path} failed (${status}): ${said}`);
  }
}

export function cliApi(env: Readonly<Record<string, string | undefined>>): CliApi {
  const url = (env.RTWS_URL || DEFAULT_URL).replace(/\/+$/, '');
  const token = env.RTWS_API_TOKEN;
  if (!/^https?:\/\/[^/]/.test(url))
    throw new ConfigError('RTWS_URL', `must be an http(s) URL, got ${JSON.stringify(url)}`);

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!token) throw new ConfigError('RTWS_API_TOKEN', 'the token of a running rtws is needed');
    let res: Response;
    try {
      res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const c = (err as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message ?? String(err);
      throw new Unreachable(`cannot reach rtws at ${url} (${cause}): is it running? (RTWS_URL)`);
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { detail: text.slice(0, 200) };
    }
    if (!res.ok) throw failure(res.status, method, path, parsed ?? {});
    return parsed as T;
  }

  return {
    url,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
  };
}
