// The API's tokens, each with a name and a scope. Scopes are nested, each adding to the one
// before it: `read` (GETs), `write` (the catalogue's own writes, what the product's API clients
// need), `operate` (retries, resyncs, backfills, reconciliations, target pauses, discards) and
// `admin` (erasure, voids, rebinding). RTWS_API_TOKENS holds `name:scope:token` entries;
// RTWS_API_TOKEN is one admin token named `default`. Several tokens may be live at once, so one
// can be rotated by adding the new one, moving clients over, then removing the old.
import { ConfigError } from './errors.ts';

export const SCOPES = ['read', 'write', 'operate', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiToken {
  /** Logged with every write the token makes; never the token itself. */
  readonly name: string;
  readonly scope: Scope;
  readonly token: string;
}

/** One entry of RTWS_API_TOKENS, as the configuration checks it. */
export const API_TOKEN_ENTRY = `^[A-Za-z0-9_-]{1,40}:(${SCOPES.join('|')}):[A-Za-z0-9._~+/=-]{16,}$`;

/** Whether a token of scope `has` may call a route that needs `needs`. */
export function scopeAllows(has: Scope, needs: Scope): boolean {
  return SCOPES.indexOf(has) >= SCOPES.indexOf(needs);
}

/**
 * The tokens RTWS_API_TOKENS and RTWS_API_TOKEN name, checked: each name and each token once.
 * Errors name the entry by its name, never by its token.
 */
export function apiTokensOf(entries: readonly string[], adminToken?: string): ApiToken[] {
  const tokens: ApiToken[] = entries.map((entry) => {
    const [name, scope, ...rest] = entry.split(':');
    return { name: name!, scope: scope as Scope, token: rest.join(':') };
  });
  if (adminToken !== undefined) tokens.push({ name: 'default', scope: 'admin', token: adminToken });
  const names = new Set<string>();
  const values = new Set<string>();
  for (const t of tokens) {
    if (names.has(t.name))
      throw new ConfigError(
        'RTWS_API_TOKENS',
        `the name ${t.name} is used twice${t.name === 'default' ? ' (RTWS_API_TOKEN is named default)' : ''}: name each token once`,
      );
    if (values.has(t.token))
      throw new ConfigError(
        'RTWS_API_TOKENS',
        `the token named ${t.name} is also another's: give each its own`,
      );
    names.add(t.name);
    values.add(t.token);
  }
  return tokens;
}
