/** A literal on the right of a SOQL comparison. */
export type Literal =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'datetime'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'null' };

export type CompareOp = '=' | '!=' | '<' | '>' | '<=' | '>=' | 'LIKE';

export type Condition =
  | {
      readonly kind: 'compare';
      readonly field: string;
      readonly op: CompareOp;
      readonly value: Literal;
    }
  | {
      readonly kind: 'in';
      readonly field: string;
      readonly negated: boolean;
      readonly values: readonly Literal[];
    }
  | { readonly kind: 'and' | 'or'; readonly items: readonly Condition[] }
  | { readonly kind: 'not'; readonly item: Condition };

export interface OrderBy {
  readonly field: string;
  readonly descending: boolean;
  readonly nullsLast: boolean;
}

/** A parsed query of the supported subset; `fields` is 'count' for `SELECT COUNT()`. */
export interface SoqlQuery {
  readonly object: string;
  readonly fields: readonly string[] | 'count';
  readonly where: Condition | undefined;
  readonly orderBy: readonly OrderBy[];
  readonly limit: number | undefined;
  readonly offset: number | undefined;
}
