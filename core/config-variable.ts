// One environment variable of the configuration: a TypeBox schema that also carries the
// variable's name, default and documentation. The configuration schema is a tree of them, so one
// table gives the `Config` type (through `Static`), the loader's checks and the README's rows.
import { Kind, Type, type TObject, type TOptional, type TSchema } from '@sinclair/typebox';

/** What the loader and the README know of a variable beyond its schema. */
export interface EnvMeta {
  readonly name: string;
  /** The value when unset or empty, written as in the environment. Without one, it is optional. */
  readonly default?: string;
  /** Shown in the README table. */
  readonly doc: string;
  /** How the README shows a default that is computed, or needs a word: else the value itself. */
  readonly shownDefault?: string;
  /** Its value never appears in an error. */
  readonly secret?: boolean;
  /** What a bad value is told to be, instead of the schema's own message. */
  readonly expected?: string;
}

/** A variable and its schema: one row of the README table. */
export interface Variable extends EnvMeta {
  readonly schema: TSchema;
}

/** A setting read from `meta.name`; without a default the setting is optional in `Config`. */
export function variable<S extends TSchema>(schema: S, meta: EnvMeta & { default: string }): S;
export function variable<S extends TSchema>(schema: S, meta: EnvMeta): TOptional<S>;
export function variable(schema: TSchema, meta: EnvMeta): TSchema {
  const annotated = { ...schema, env: meta };
  return meta.default === undefined ? Type.Optional(annotated) : annotated;
}

/** The variable a schema node reads, or undefined for a group of them. */
export function envOf(schema: TSchema): EnvMeta | undefined {
  return (schema as { env?: EnvMeta }).env;
}

/** Every variable under a group, in the order they are declared. */
export function variablesOf(group: TObject): Variable[] {
  return Object.values(group.properties).flatMap((schema) => {
    const meta = envOf(schema);
    return meta ? [{ ...meta, schema }] : variablesOf(schema as TObject);
  });
}

/**
 * The environment's text as the schema's type: integers, booleans and comma-separated lists. Text
 * that does not parse is returned as it is, for the schema check to reject with its own message.
 */
export function parseText(schema: TSchema, text: string): unknown {
  switch (schema[Kind]) {
    case 'Integer':
      return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    case 'Boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'Array':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return text;
  }
}

export const Url = (protocols: string) => Type.String({ pattern: `^(${protocols})://` });
export const Int = (min: number, max: number) => Type.Integer({ minimum: min, maximum: max });
