// Between canonical fields and Stripe's customer parameters and objects.
import type Stripe from 'stripe';
import {
  canonicalAddress,
  canonicalEmail,
  canonicalMetadata,
  canonicalString,
  type CanonicalFields,
} from '../../core/canonical.ts';
import type { FieldPatch } from '../../core/policy/push.ts';

type Address = Stripe.AddressParam;

function addressParam(a: CanonicalFields['address']): Address | '' {
  if (!a) return '';
  // Stripe unsets a key sent as ''.
  return {
    line1: a.line1 ?? '',
    line2: a.line2 ?? '',
    city: a.city ?? '',
    state: a.state ?? '',
    postal_code: a.postal_code ?? '',
    country: a.country ?? '',
  };
}

/** Create parameters: empty fields are left out; `metadata` already carries `rtws_id`. */
export function createParams(fields: CanonicalFields): Stripe.CustomerCreateParams {
  return {
    name: fields.name,
    ...(fields.email ? { email: fields.email } : {}),
    ...(fields.phone ? { phone: fields.phone } : {}),
    ...(fields.address ? { address: addressParam(fields.address) } : {}),
    metadata: fields.metadata,
  };
}

/** Only the changed fields; a null unsets (Stripe's empty string). */
export function updateParams(patch: FieldPatch): Stripe.CustomerUpdateParams {
  const p: Stripe.CustomerUpdateParams = {};
  if (patch.name !== undefined) p.name = patch.name;
  if (patch.email !== undefined) p.email = patch.email ?? '';
  if (patch.phone !== undefined) p.phone = patch.phone ?? '';
  if (patch.address !== undefined) p.address = addressParam(patch.address);
  if (patch.metadata !== undefined) {
    p.metadata = Object.fromEntries(Object.entries(patch.metadata).map(([k, v]) => [k, v ?? '']));
  }
  return p;
}

/** A Stripe customer's synced fields in canonical form (rtws's own metadata keys removed). */
export function fieldsOf(c: Stripe.Customer): CanonicalFields {
  return {
    name: canonicalString(c.name) ?? '',
    email: canonicalEmail(c.email),
    phone: canonicalString(c.phone),
    address: canonicalAddress(c.address),
    metadata: canonicalMetadata(c.metadata),
  };
}
