// Salesforce record ids: a 3-character key prefix, then 12 characters, then (in the 18-character
// form) a 3-character suffix that encodes which of the first 15 characters are uppercase. The
// suffix makes the id safe for case-insensitive systems; the API always returns the 18-character form.

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID15 = /^[0-9A-Za-z]{15}$/;
const ID18 = /^[0-9A-Za-z]{15}[A-Z0-5]{3}$/i;

const isUpper = (c: string): boolean => c >= 'A' && c <= 'Z';

/** The 3-character case-safe suffix of a 15-character id. */
export function idChecksum(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      if (isUpper(id15.charAt(chunk * 5 + i))) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET.charAt(bits);
  }
  return suffix;
}

/** The canonical 18-character id for a 15- or 18-character input, or undefined when malformed. */
export function canonicalId(input: string): string | undefined {
  if (ID15.test(input)) return input + idChecksum(input);
  if (!ID18.test(input)) return undefined;
  // An 18-character id may arrive in any case: the suffix says which letters are uppercase.
  const suffix = input.slice(15).toUpperCase();
  let restored = '';
  for (let i = 0; i < 15; i++) {
    const bits = SUFFIX_ALPHABET.indexOf(suffix.charAt(Math.floor(i / 5)));
    const c = input.charAt(i);
    restored += (bits >> (i % 5)) & 1 ? c.toUpperCase() : c.toLowerCase();
  }
  return restored + suffix;
}

/** A new 18-character id: the key prefix, a fixed pod marker and a base-62 sequence number. */
export function makeId(keyPrefix: string, sequence: number): string {
  let digits = '';
  let n = sequence;
  for (let i = 0; i < 10; i++) {
    digits = BASE62.charAt(n % 62) + digits;
    n = Math.floor(n / 62);
  }
  const id15 = `${keyPrefix}Hs${digits}`;
  return id15 + idChecksum(id15);
}
