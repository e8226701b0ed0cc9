import { invalidRequest } from './errors.ts';
import type { FormObject } from './form.ts';
import { applyMetadata, parseMetadata } from './metadata.ts';
import {
  checkKeys,
  isEmail,
  optEnum,
  optInt,
  optObject,
  optString,
  optStringArray,
} from './params.ts';
import type { Address, CustomerObject, InvoiceSettings, Shipping } from './customer-object.ts';

const TAX_EXEMPT = ['none', 'exempt', 'reverse'] as const;
const ADDRESS_KEYS: ReadonlySet<string> = new Set([
  'city',
  'country',
  'line1',
  'line2',
  'postal_code',
  'state',
]);
const SHIPPING_KEYS: ReadonlySet<string> = new Set(['address', 'name', 'phone']);
const INVOICE_SETTINGS_KEYS: ReadonlySet<string> = new Set([
  'custom_fields',
  'default_payment_method',
  'footer',
  'rendering_options',
]);

function parseAddress(value: FormObject, param: string): Address {
  checkKeys(value, ADDRESS_KEYS, param);
  const field = (key: string) => optString(value, key) ?? null;
  return {
    city: field('city'),
    country: field('country'),
    line1: field('line1'),
    line2: field('line2'),
    postal_code: field('postal_code'),
    state: field('state'),
  };
}

function parseShipping(value: FormObject): Shipping {
  checkKeys(value, SHIPPING_KEYS, 'shipping');
  const address = optObject(value, 'address');
  const name = optString(value, 'name');
  if (!address)
    throw invalidRequest(
      'Missing required param: shipping[address].',
      'shipping[address]',
      'parameter_missing',
    );
  if (!name)
    throw invalidRequest(
      'Missing required param: shipping[name].',
      'shipping[name]',
      'parameter_missing',
    );
  return {
    address: parseAddress(address, 'shipping[address]'),
    name,
    phone: optString(value, 'phone') ?? null,
  };
}

function parseInvoiceSettings(value: FormObject, current: InvoiceSettings): InvoiceSettings {
  checkKeys(value, INVOICE_SETTINGS_KEYS, 'invoice_settings');
  const footer = optString(value, 'footer');
  const method = optString(value, 'default_payment_method');
  return {
    ...current,
    footer: footer === undefined ? current.footer : footer,
    default_payment_method: method === undefined ? current.default_payment_method : method,
  };
}

function parseEmail(params: FormObject): string | null | undefined {
  const email = optString(params, 'email', 512);
  if (typeof email === 'string' && !isEmail(email)) {
    throw invalidRequest(`Invalid email address: ${email}`, 'email', 'email_invalid');
  }
  return email;
}

function parseInvoicePrefix(params: FormObject): string | undefined {
  const prefix = optString(params, 'invoice_prefix');
  if (prefix === null)
    throw invalidRequest('Invalid invoice_prefix: cannot be empty', 'invoice_prefix');
  if (prefix !== undefined && !/^[A-Z0-9]{3,12}$/.test(prefix)) {
    throw invalidRequest(
      'Invalid invoice_prefix: must be 3 to 12 uppercase letters or numbers',
      'invoice_prefix',
    );
  }
  return prefix;
}

type Setter = (next: CustomerObject, params: FormObject) => void;

function nonEmpty<T>(value: T | null | undefined, fallback: T): T {
  return value === undefined || value === null ? fallback : value;
}

// One setter per parameter, run only for parameters present: updates usually touch one or two.
const SETTERS: Record<string, Setter> = {
  address: (next, p) => {
    const value = optObject(p, 'address');
    next.address = value ? parseAddress(value, 'address') : null;
  },
  balance: (next, p) => {
    next.balance = optInt(p, 'balance') ?? 0;
  },
  description: (next, p) => {
    next.description = optString(p, 'description', 350) ?? null;
  },
  email: (next, p) => {
    next.email = parseEmail(p) ?? null;
  },
  expand: () => undefined,
  invoice_prefix: (next, p) => {
    next.invoice_prefix = nonEmpty(parseInvoicePrefix(p), next.invoice_prefix);
  },
  invoice_settings: (next, p) => {
    const value = optObject(p, 'invoice_settings');
    if (value) next.invoice_settings = parseInvoiceSettings(value, next.invoice_settings);
  },
  metadata: (next, p) => {
    next.metadata = applyMetadata(next.metadata, parseMetadata(p.metadata));
  },
  name: (next, p) => {
    next.name = optString(p, 'name', 256) ?? null;
  },
  next_invoice_sequence: (next, p) => {
    const sequence = optInt(p, 'next_invoice_sequence');
    if (sequence === undefined || sequence < 1) {
      throw invalidRequest(
        'Invalid next_invoice_sequence: must be at least 1',
        'next_invoice_sequence',
      );
    }
    next.next_invoice_sequence = sequence;
  },
  phone: (next, p) => {
    next.phone = optString(p, 'phone', 20) ?? null;
  },
  preferred_locales: (next, p) => {
    next.preferred_locales = optStringArray(p, 'preferred_locales') ?? [];
  },
  shipping: (next, p) => {
    const value = optObject(p, 'shipping');
    next.shipping = value ? parseShipping(value) : null;
  },
  tax_exempt: (next, p) => {
    next.tax_exempt = optEnum(p, 'tax_exempt', TAX_EXEMPT) ?? 'none';
  },
};

export const CUSTOMER_PARAMS: ReadonlySet<string> = new Set(Object.keys(SETTERS));

/**
 * Applies create/update params to a customer and returns the new object; the old one is left
 * untouched because events hold it as their snapshot.
 */
export function applyCustomerParams(current: CustomerObject, params: FormObject): CustomerObject {
  checkKeys(params, CUSTOMER_PARAMS);
  const next = { ...current };
  for (const key of Object.keys(params)) SETTERS[key]!(next, params);
  return next;
}
