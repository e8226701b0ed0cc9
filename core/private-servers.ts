// When rtws starts a Postgres or a NATS server of its own (a private server, kept under
// RTWS_DATA_DIR), from RTWS_EMBEDDED, the sandbox, and whether the URL was given. Decided once,
// with the rest of the configuration; whether anything answers at the default address is found
// out at start (deploy/private/).
import { ConfigError } from './errors.ts';

export const PRIVATE_SERVER_CHOICES = ['postgres', 'nats', 'off'] as const;
export type PrivateServerKind = 'postgres' | 'nats';

/** Why rtws starts no private server where the configured one does not answer. */
export type NoPrivateServerReason = 'url_set' | 'off' | 'stripe_key';

/**
 * `always`: RTWS_EMBEDDED names it. `if_absent`: the sandbox with its URL unset, when nothing
 * answers at the default address. `never`: rtws only connects, and says why when it cannot.
 */
export type PrivateServerPlan =
  | { readonly start: 'always' }
  | { readonly start: 'if_absent' }
  | { readonly start: 'never'; readonly because: NoPrivateServerReason };

export type PrivateServerPlans = Readonly<Record<PrivateServerKind, PrivateServerPlan>>;

const URL_VARIABLE: Record<PrivateServerKind, string> = {
  postgres: 'DATABASE_URL',
  nats: 'NATS_URL',
};

export interface PlanInput {
  /** RTWS_EMBEDDED as read: empty for automatic. */
  readonly chosen: readonly (typeof PRIVATE_SERVER_CHOICES)[number][];
  readonly stripeKey: string | undefined;
  /** Whether DATABASE_URL and NATS_URL were set (an empty value is unset). */
  readonly urlSet: Readonly<Record<PrivateServerKind, boolean>>;
}

export function planPrivateServers(input: PlanInput): PrivateServerPlans {
  const { chosen, stripeKey, urlSet } = input;
  if (chosen.includes('off') && chosen.length > 1)
    throw new ConfigError('RTWS_EMBEDDED', '`off` cannot be combined with server names');
  const plan = (kind: PrivateServerKind): PrivateServerPlan => {
    if (chosen.includes(kind)) {
      if (urlSet[kind])
        throw new ConfigError(
          'RTWS_EMBEDDED',
          `names ${kind}, but ${URL_VARIABLE[kind]} is set: rtws would start a private server and ` +
            `ignore that URL. Unset one of them.`,
        );
      if (stripeKey !== undefined && /^(sk|rk)_live_/.test(stripeKey))
        throw new ConfigError(
          'RTWS_EMBEDDED',
          `names ${kind}, but STRIPE_SECRET_KEY is a live key: a private server holds sandbox ` +
            `data, and a live account is never synced against it. Set ${URL_VARIABLE[kind]}.`,
        );
      return { start: 'always' };
    }
    if (urlSet[kind]) return { start: 'never', because: 'url_set' };
    if (chosen.includes('off')) return { start: 'never', because: 'off' };
    if (stripeKey !== undefined) return { start: 'never', because: 'stripe_key' };
    return { start: 'if_absent' };
  };
  return { postgres: plan('postgres'), nats: plan('nats') };
}
