// Evaluates a WHERE condition against one record. Text comparisons ignore case, except on
// case-sensitive fields; a comparison with null is only true for `= null` and `!= null`.
import type { SalesforceApiError } from '../errors.ts';
import { invalidField } from '../errors.ts';
import type { FieldDef, ObjectDef } from '../schema.ts';
import { findField } from '../schema.ts';
import type { FieldValue } from '../values.ts';
import type { Condition, Literal } from './ast.ts';

export type Predicate = (fields: Record<string, FieldValue>) => boolean;

/** Compiles a condition once, resolving and checking its fields, into a predicate. */
export function compileCondition(object: ObjectDef, condition: Condition): Predicate {
  switch (condition.kind) {
    case 'and': {
      const items = condition.items.map((c) => compileCondition(object, c));
      return (r) => items.every((p) => p(r));
    }
    case 'or': {
      const items = condition.items.map((c) => compileCondition(object, c));
      return (r) => items.some((p) => p(r));
    }
    case 'not': {
      const item = compileCondition(object, condition.item);
      return (r) => !item(r);
    }
    case 'in': {
      const def = resolveField(object, condition.field);
      const values = new Set(condition.values.map((v) => comparable(def, v)));
      return (r) => {
        const value = normalize(def, r[def.name] ?? null);
        return values.has(value) !== condition.negated;
      };
    }
    case 'compare':
      return compileCompare(object, condition);
  }
}

export function resolveField(object: ObjectDef, name: string): FieldDef {
  const def = findField(object, name);
  if (!def) {
    throw invalidField(
      `No such column '${name}' on entity '${object.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`,
    );
  }
  return def;
}

function compileCompare(
  object: ObjectDef,
  condition: Extract<Condition, { kind: 'compare' }>,
): Predicate {
  const def = resolveField(object, condition.field);
  const target = comparable(def, condition.value);
  const { op } = condition;
  if (op === 'LIKE') {
    const pattern = likePattern(String(target));
    return (r) => {
      const value = r[def.name];
      return typeof value === 'string' && pattern.test(value);
    };
  }
  return (r) => {
    const value = normalize(def, r[def.name] ?? null);
    if (op === '=') return value === target;
    if (op === '!=') return value !== target;
    if (value === null || target === null) return false;
    if (op === '<') return value < target;
    if (op === '>') return value > target;
    if (op === '<=') return value <= target;
    return value >= target;
  };
}

type Comparable = string | number | boolean | null;

/** A stored value in the form literals are compared with. */
function normalize(def: FieldDef, value: FieldValue): Comparable {
  if (value === null) return null;
  if (def.type === 'datetime') return Date.parse(String(value));
  if (typeof value === 'string' && !def.caseSensitive) return value.toLowerCase();
  return value;
}

function comparable(def: FieldDef, literal: Literal): Comparable {
  if (literal.kind === 'null') return null;
  if (def.type === 'datetime') {
    if (literal.kind !== 'datetime') throw typeError(def, 'dateTime');
    return literal.value;
  }
  if (def.type === 'boolean') {
    if (literal.kind !== 'boolean') throw typeError(def, 'boolean');
    return literal.value;
  }
  if (literal.kind !== 'string') throw typeError(def, 'string');
  return def.caseSensitive ? literal.value : literal.value.toLowerCase();
}

function typeError(def: FieldDef, expected: string): SalesforceApiError {
  const quotes =
    expected === 'string' ? 'should be enclosed in quotes' : 'should not be enclosed in quotes';
  return invalidField(
    `value of filter criterion for field '${def.name}' must be of type ${expected} and ${quotes}`,
  );
}

function likePattern(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && (pattern.charAt(i + 1) === '%' || pattern.charAt(i + 1) === '_'))
      source += pattern.charAt(++i);
    else if (c === '%') source += '.*';
    else if (c === '_') source += '.';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'is');
}
