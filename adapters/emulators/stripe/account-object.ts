import { randomString } from './ids.ts';

/** The one account the emulator is: what stays fixed for a data dir. */
export interface AccountRecord {
  readonly id: string;
  readonly created: number;
}

/** What `accountId` must look like; Stripe's own ids are `acct_` + 16 alphanumerics. */
export const ACCOUNT_ID_PATTERN = /^acct_[A-Za-z0-9]{1,64}$/;

export function newAccount(created: number, id = `acct_${randomString(16)}`): AccountRecord {
  return { id, created };
}

const noRequirements = () => ({
  alternatives: [],
  current_deadline: null,
  currently_due: [],
  disabled_reason: null,
  errors: [],
  eventually_due: [],
  past_due: [],
  pending_verification: [],
});

/**
 * A fully onboarded US standard account, with the top-level keys of Stripe's example `account`.
 * It has no `livemode`: Stripe's account object has none, the mode comes from the key.
 */
export function renderAccount(a: AccountRecord) {
  return {
    id: a.id,
    object: 'account',
    business_profile: {
      annual_revenue: null,
      estimated_worker_count: null,
      mcc: null,
      minority_owned_business_designation: null,
      name: null,
      product_description: null,
      support_address: null,
      support_email: null,
      support_phone: null,
      support_url: null,
      url: null,
    },
    business_type: null,
    capabilities: {},
    charges_enabled: true,
    controller: { type: 'account' },
    country: 'US',
    created: a.created,
    default_currency: 'usd',
    details_submitted: true,
    email: null,
    external_accounts: {
      object: 'list',
      data: [],
      has_more: false,
      url: `/v1/accounts/${a.id}/external_accounts`,
    },
    future_requirements: noRequirements(),
    metadata: {},
    payouts_enabled: true,
    requirements: noRequirements(),
    settings: { dashboard: { display_name: null, timezone: 'Etc/UTC' } },
    tos_acceptance: { date: a.created, ip: null, user_agent: null },
    type: 'standard',
  };
}
