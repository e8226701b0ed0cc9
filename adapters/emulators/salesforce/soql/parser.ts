// A recursive-descent parser for the SOQL subset the emulator serves:
//   SELECT f1, f2 | COUNT() FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
//   [LIMIT n] [OFFSET n]
// As in Salesforce, AND and OR may not be mixed at one level without parentheses.
import { malformedQuery } from '../errors.ts';
import type { CompareOp, Condition, Literal, OrderBy, SoqlQuery } from './ast.ts';
import type { Token } from './lexer.ts';
import { tokenize } from './lexer.ts';

const COMPARE_OPS = new Set(['=', '!=', '<>', '<', '>', '<=', '>=']);

export function parseSoql(soql: string): SoqlQuery {
  return new Parser(tokenize(soql)).query();
}

class Parser {
  private at = 0;

  constructor(private readonly tokens: Token[]) {}

  query(): SoqlQuery {
    this.keyword('SELECT');
    const fields = this.selectList();
    this.keyword('FROM');
    const object = this.identifier();
    const where = this.acceptKeyword('WHERE') ? this.condition() : undefined;
    const orderBy = this.acceptKeyword('ORDER') ? (this.keyword('BY'), this.orderList()) : [];
    const limit = this.acceptKeyword('LIMIT') ? this.integer() : undefined;
    const offset = this.acceptKeyword('OFFSET') ? this.integer() : undefined;
    const extra = this.peek();
    if (extra) throw this.unexpected(extra);
    return { object, fields, where, orderBy, limit, offset };
  }

  private selectList(): string[] | 'count' {
    if (this.isKeyword(this.peek(), 'COUNT') && this.isSymbol(this.tokens[this.at + 1], '(')) {
      this.at += 2;
      this.symbol(')');
      return 'count';
    }
    const fields = [this.identifier()];
    while (this.acceptSymbol(',')) fields.push(this.identifier());
    return fields;
  }

  private condition(): Condition {
    const first = this.unary();
    const joiner = this.isKeyword(this.peek(), 'AND')
      ? 'AND'
      : this.isKeyword(this.peek(), 'OR')
        ? 'OR'
        : undefined;
    if (!joiner) return first;
    const items = [first];
    while (this.acceptKeyword(joiner)) items.push(this.unary());
    const next = this.peek();
    if (this.isKeyword(next, 'AND') || this.isKeyword(next, 'OR')) throw this.unexpected(next);
    return { kind: joiner === 'AND' ? 'and' : 'or', items };
  }

  private unary(): Condition {
    if (this.acceptKeyword('NOT')) return { kind: 'not', item: this.unary() };
    if (this.acceptSymbol('(')) {
      const inner = this.condition();
      this.symbol(')');
      return inner;
    }
    return this.simple();
  }

  private simple(): Condition {
    const field = this.identifier();
    const negated = this.acceptKeyword('NOT');
    if (this.acceptKeyword('IN')) return { kind: 'in', field, negated, values: this.literalList() };
    if (negated) throw this.unexpected(this.peek());
    if (this.acceptKeyword('LIKE')) {
      const value = this.literal();
      if (value.kind !== 'string') throw malformedQuery('LIKE needs a string literal');
      return { kind: 'compare', field, op: 'LIKE', value };
    }
    const op = this.next();
    if (op?.kind !== 'symbol' || !COMPARE_OPS.has(op.text)) throw this.unexpected(op);
    const normalized = (op.text === '<>' ? '!=' : op.text) as CompareOp;
    return { kind: 'compare', field, op: normalized, value: this.literal() };
  }

  private literalList(): Literal[] {
    this.symbol('(');
    const values = [this.literal()];
    while (this.acceptSymbol(',')) values.push(this.literal());
    this.symbol(')');
    return values;
  }

  private literal(): Literal {
    const token = this.next();
    if (!token) throw malformedQuery('unexpected end of query');
    switch (token.kind) {
      case 'string':
      case 'number':
      case 'datetime':
        return { kind: token.kind, value: token.value } as Literal;
      case 'word': {
        const word = token.text.toLowerCase();
        if (word === 'null') return { kind: 'null' };
        if (word === 'true' || word === 'false') return { kind: 'boolean', value: word === 'true' };
        throw this.unexpected(token);
      }
      case 'symbol':
        throw this.unexpected(token);
    }
  }

  private orderList(): OrderBy[] {
    const list: OrderBy[] = [];
    do {
      const field = this.identifier();
      const descending = this.acceptKeyword('DESC');
      if (!descending) this.acceptKeyword('ASC');
      // Salesforce puts nulls first when ascending and last when descending, unless told.
      let nullsLast = descending;
      if (this.acceptKeyword('NULLS')) {
        nullsLast = this.acceptKeyword('LAST');
        if (!nullsLast) this.keyword('FIRST');
      }
      list.push({ field, descending, nullsLast });
    } while (this.acceptSymbol(','));
    return list;
  }

  private integer(): number {
    const token = this.next();
    if (token?.kind !== 'number' || !Number.isInteger(token.value) || token.value < 0)
      throw this.unexpected(token);
    return token.value;
  }

  private identifier(): string {
    const token = this.next();
    if (token?.kind !== 'word') throw this.unexpected(token);
    return token.text;
  }

  private keyword(word: string): void {
    const token = this.next();
    if (!this.isKeyword(token, word)) throw this.unexpected(token);
  }

  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(this.peek(), word)) return false;
    this.at++;
    return true;
  }

  private symbol(text: string): void {
    const token = this.next();
    if (!this.isSymbol(token, text)) throw this.unexpected(token);
  }

  private acceptSymbol(text: string): boolean {
    if (!this.isSymbol(this.peek(), text)) return false;
    this.at++;
    return true;
  }

  private isKeyword(token: Token | undefined, word: string): boolean {
    return token?.kind === 'word' && token.text.toUpperCase() === word;
  }

  private isSymbol(token: Token | undefined, text: string): boolean {
    return token?.kind === 'symbol' && token.text === text;
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private next(): Token | undefined {
    return this.tokens[this.at++];
  }

  private unexpected(token: Token | undefined): Error {
    if (!token) return malformedQuery('unexpected end of query');
    const text =
      token.kind === 'string'
        ? `'${token.value}'`
        : token.kind === 'word' || token.kind === 'symbol'
          ? token.text
          : String(token.value);
    return malformedQuery(`unexpected token: ${text}`);
  }
}
