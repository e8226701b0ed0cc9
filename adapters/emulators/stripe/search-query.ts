import { invalidRequest } from './errors.ts';

/** The searchable fields of a customer, as the lagging index last saw them. */
export interface SearchDoc {
  email: string | null;
  name: string | null;
  phone: string | null;
  created: number;
  metadata: Readonly<Record<string, string>>;
}

type Operator = ':' | '~' | '>' | '<' | '>=' | '<=' | '=';

interface Clause {
  negate: boolean;
  field: string;
  metadataKey?: string;
  op: Operator;
  value: string | number | null;
}

const STRING_FIELDS = new Set(['email', 'name', 'phone']);

function badQuery(detail: string): never {
  throw invalidRequest(`Invalid search query: ${detail}`, 'query');
}

// One clause: [-]field[['key']]op value. The grammar is Stripe's documented subset.
const CLAUSE =
  /^\s*(-?)([a-z_]+)(?:\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\])?\s*(>=|<=|:|~|>|<|=)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(-?\d+(?:\.\d+)?)|(null))/;
const CONNECTIVE = /^\s+(AND|OR)\s+/i;

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

function readClause(match: RegExpExecArray): Clause {
  const [, neg, field, mk1, mk2, op, s1, s2, num, nul] = match;
  const metadataKey = mk1 ?? mk2;
  if (
    field === 'metadata'
      ? metadataKey === undefined
      : !STRING_FIELDS.has(field!) && field !== 'created'
  ) {
    badQuery(`unsupported field ${field}`);
  }
  const text = s1 ?? s2;
  const value =
    text !== undefined
      ? unescape(text)
      : num !== undefined
        ? Number(num)
        : nul !== undefined
          ? null
          : badQuery('missing value');
  const clause: Clause = { negate: neg === '-', field: field!, op: op as Operator, value };
  if (metadataKey !== undefined) clause.metadataKey = unescape(metadataKey);
  if (clause.op === '~' && (typeof value !== 'string' || value.length < 3))
    badQuery('~ needs a string of at least 3 characters');
  if (field !== 'created' && !['~', ':'].includes(clause.op))
    badQuery(`operator ${clause.op} needs a numeric field`);
  return clause;
}

/** Parses a customer search query into a predicate over indexed documents. */
export function parseQuery(query: string): (doc: SearchDoc) => boolean {
  const clauses: Clause[] = [];
  let connective: string | undefined;
  let rest = query;
  for (;;) {
    const match = CLAUSE.exec(rest);
    if (!match) badQuery(rest.trim() === '' ? 'empty query' : `cannot parse "${rest.trim()}"`);
    clauses.push(readClause(match));
    rest = rest.slice(match[0].length);
    if (rest.trim() === '') break;
    const joiner = CONNECTIVE.exec(rest);
    const word = joiner
      ? joiner[1]!.toUpperCase()
      : /^\s+/.test(rest)
        ? 'AND'
        : badQuery('expected AND or OR');
    if (connective !== undefined && connective !== word) badQuery('AND and OR cannot be mixed');
    connective = word;
    rest = joiner ? rest.slice(joiner[0].length) : rest.trimStart();
  }
  const tests = clauses.map(clauseTest);
  return connective === 'OR'
    ? (doc) => tests.some((t) => t(doc))
    : (doc) => tests.every((t) => t(doc));
}

function fieldValue(doc: SearchDoc, clause: Clause): string | number | null {
  if (clause.field === 'metadata')
    return Object.hasOwn(doc.metadata, clause.metadataKey!)
      ? doc.metadata[clause.metadataKey!]!
      : null;
  return doc[clause.field as keyof Omit<SearchDoc, 'metadata'>];
}

function clauseTest(clause: Clause): (doc: SearchDoc) => boolean {
  const test = (doc: SearchDoc): boolean => {
    const actual = fieldValue(doc, clause);
    const wanted = clause.value;
    if (wanted === null) return actual === null || actual === '';
    if (actual === null) return false;
    if (typeof actual === 'number') return compareNumber(actual, clause.op, Number(wanted));
    const a = actual.toLowerCase();
    const w = String(wanted).toLowerCase();
    return clause.op === '~' ? a.includes(w) : a === w;
  };
  return clause.negate ? (doc) => !test(doc) : test;
}

function compareNumber(actual: number, op: Operator, wanted: number): boolean {
  switch (op) {
    case '>':
      return actual > wanted;
    case '<':
      return actual < wanted;
    case '>=':
      return actual >= wanted;
    case '<=':
      return actual <= wanted;
    case ':':
    case '=':
    case '~':
      return actual === wanted;
    default: {
      const never: never = op;
      return never;
    }
  }
}
