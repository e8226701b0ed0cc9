// Request validation is strict: bodies, params and headers are never coerced and unknown fields are
// never stripped silently (`name: 42` and an unknown field are both 400s). Only the query string,
// which is text by nature, is coerced to the declared types. Text that Postgres cannot store (a NUL
// character, half of a UTF-16 surrogate pair) is refused wherever it is, key or value, and a uuid
// is the bare form Postgres reads, not ajv-formats' `urn:uuid:` one too. A currency (`x-currency`)
// is one ISO 4217 lists.
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { isCurrency } from '../../core/invoice.ts';

// ajv-formats is published as CommonJS with a default export.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
    ...options,
  });
  addFormats(ajv).addFormat('uuid', /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i);
  return ajv.addKeyword({
    keyword: 'x-currency',
    type: 'string',
    schemaType: 'boolean',
    error: { message: 'must be an ISO 4217 currency code, such as "usd"' },
    validate: (wanted: boolean, code: string) => !wanted || isCurrency(code),
  });
}

const strict = makeAjv({ coerceTypes: false });
const query = makeAjv({ coerceTypes: true });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  storableText((httpPart === 'querystring' ? query : strict).compile(schema as object));

/** A NUL character, or a high surrogate without its low half, or a low one without its high. */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const TEXT_MESSAGE = 'must not contain a NUL character or half of a UTF-16 surrogate pair';

/** The schema's own checks first (which bound how deep a valid value goes), then the text's. */
function storableText(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown) => {
    const valid = validate(data);
    checked.errors = validate.errors;
    if (!valid) return false;
    const found = unstorableIn(data);
    checked.errors = found ? [found] : null;
    return !found;
  }) as ValidateFunction;
  return checked;
}

/**
 * The first string, or object key, that Postgres would refuse, as an Ajv issue naming it. Walked
 * with a stack of its own, not by recursion, so that no depth of nesting throws.
 */
function unstorableIn(data: unknown): ErrorObject | undefined {
  const stack: [unknown, string][] = [[data, '']];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [value, path] = next;
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return issue(path, 'text', {}, TEXT_MESSAGE);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const entries = Object.entries(value);
    for (const [key] of entries)
      if (!Array.isArray(value) && UNSTORABLE.test(key))
        return issue(path, 'propertyNames', { propertyName: key }, TEXT_MESSAGE);
    // Reversed, so that the first field in the body is the first one named.
    for (const [key, item] of entries.reverse())
      stack.push([item, `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`]);
  }
  return undefined;
}

function issue(
  instancePath: string,
  keyword: string,
  params: Record<string, unknown>,
  message: string,
): ErrorObject {
  return { instancePath, schemaPath: '#', keyword, params, message };
}
