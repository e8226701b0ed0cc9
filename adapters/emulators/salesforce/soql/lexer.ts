// Splits a SOQL string into tokens. String literals are single-quoted with backslash escapes;
// `\%` and `\_` are kept escaped because they only mean something to LIKE.
import { malformedQuery } from '../errors.ts';

export type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'datetime'; readonly value: number; readonly text: string }
  | { readonly kind: 'symbol'; readonly text: string };

const ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  '"': '"',
  "'": "'",
  '\\': '\\',
  '%': '\\%',
  _: '\\_',
};
const DATETIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))?/;
const NUMBER = /^-?\d+(?:\.\d+)?/;
const WORD = /^[A-Za-z_][A-Za-z0-9_.]*/;
const SYMBOLS = ['!=', '<>', '<=', '>=', '=', '<', '>', '(', ')', ','];

export function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const rest = soql.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    if (rest.startsWith("'")) {
      const [value, length] = readString(rest);
      tokens.push({ kind: 'string', value });
      i += length;
      continue;
    }
    const matched = matchToken(rest);
    if (!matched) throw malformedQuery(`unexpected token: '${rest.slice(0, 20)}'`);
    tokens.push(matched.token);
    i += matched.length;
  }
  return tokens;
}

function matchToken(rest: string): { token: Token; length: number } | undefined {
  const datetime = DATETIME.exec(rest);
  if (datetime) {
    const text = datetime[0];
    const value = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
    if (Number.isNaN(value)) throw malformedQuery(`invalid date: ${text}`);
    return { token: { kind: 'datetime', value, text }, length: text.length };
  }
  const number = NUMBER.exec(rest);
  if (number)
    return { token: { kind: 'number', value: Number(number[0]) }, length: number[0].length };
  const word = WORD.exec(rest);
  if (word) return { token: { kind: 'word', text: word[0] }, length: word[0].length };
  const symbol = SYMBOLS.find((s) => rest.startsWith(s));
  return symbol ? { token: { kind: 'symbol', text: symbol }, length: symbol.length } : undefined;
}

function readString(rest: string): [string, number] {
  let value = '';
  for (let i = 1; i < rest.length; i++) {
    const c = rest.charAt(i);
    if (c === "'") return [value, i + 1];
    if (c !== '\\') {
      value += c;
      continue;
    }
    const escaped = ESCAPES[rest.charAt(++i)];
    if (escaped === undefined)
      throw malformedQuery(
        `Invalid string literal: bad escape sequence near '${rest.slice(0, i + 1)}'`,
      );
    value += escaped;
  }
  throw malformedQuery('unterminated string literal');
}
