// A catalogue name as two Salesforce fields (a Contact's FirstName and LastName), and back. The
// split must round-trip exactly: a name read back unchanged from Salesforce that joined to
// anything else would look like an edit there, and be pushed again for ever.
import { canonicalString } from '../../core/canonical.ts';

export interface NameParts {
  readonly first: string | null;
  readonly last: string | null;
}

const SPACE = ' ';
const WHITESPACE = /\s/;

/**
 * Splits at the last single space (U+0020 with no whitespace on either side): "Mary Ann Smith" →
 * "Mary Ann" + "Smith". A name with no such space (one word, or words apart only by runs of
 * spaces, tabs or other whitespace) is all last name; an empty one is neither. Neither part ever
 * has whitespace at its ends, so joining them with one space gives back the trimmed name.
 */
export function splitName(name: string): NameParts {
  const n = name.trim();
  if (n === '') return { first: null, last: null };
  for (let i = n.length - 2; i > 0; i--) {
    if (n[i] !== SPACE) continue;
    if (WHITESPACE.test(n[i - 1]!) || WHITESPACE.test(n[i + 1]!)) continue;
    return { first: n.slice(0, i), last: n.slice(i + 1) };
  }
  return { first: null, last: n };
}

/** The name the two parts hold, each trimmed, joined by one space; null when both are empty. */
export function joinName(first: string | null, last: string | null): string | null {
  const f = canonicalString(first);
  const l = canonicalString(last);
  if (f === null) return l;
  if (l === null) return f;
  return `${f}${SPACE}${l}`;
}
