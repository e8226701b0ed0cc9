import { StripeApiError } from './errors.ts';

const KEY = /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/;

function unauthorized(message: string): StripeApiError {
  return new StripeApiError(401, { type: 'invalid_request_error', message });
}

function mask(key: string): string {
  return key.length <= 12
    ? `${key.slice(0, 3)}***`
    : `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
}

/** The key from `Authorization: Bearer <key>` or Basic auth (key as user name), checked for form. */
export function authenticate(header: string | undefined): { livemode: boolean } {
  if (!header) {
    throw unauthorized(
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    );
  }
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const credential = header.slice(space + 1).trim();
  const key =
    scheme === 'basic'
      ? Buffer.from(credential, 'base64').toString().split(':')[0]!
      : scheme === 'bearer'
        ? credential
        : '';
  if (!KEY.test(key)) throw unauthorized(`Invalid API Key provided: ${mask(key)}`);
  return { livemode: key.includes('_live_') };
}
