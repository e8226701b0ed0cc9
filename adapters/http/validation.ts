// Request validation is strict: bodies, params and headers are never coerced and unknown fields are
// never stripped silently (`name: 42` and an unknown field are both 400s). Only the query string,
// which is text by nature, is coerced to the declared types. Text that Postgres cannot store (a NUL
// character, half of a UTF-16 surrogate pair) is refused wherever it is, key or value, and a uuid
// is the bare form Postgres reads, not ajv-formats' `urn:uuid:` one too.
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

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
  return addFormats(ajv).addFormat('uuid', /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i);
}

const strict = makeAjv({ coerceTypes: false });
const query = makeAjv({ coerceTypes: true });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  storableText((httpPart === 'querystring' ? query : strict).compile(schema as object));

/** A NUL character, or a high surrogate without its low half, or a low one without its high. */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const TEXT_MESSAGE = 'must not contain a NUL character or half of a UTF-16 surrogate pair';

function storableText(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown) => {
    const issue = unstorableIn(data, '');
    checked.errors = issue ? [issue] : null;
    if (issue) return false;
    const valid = validate(data);
    checked.errors = validate.errors;
    return valid;
  }) as ValidateFunction;
  return checked;
}

/** The first string, or object key, that Postgres would refuse, as an Ajv issue naming it. */
function unstorableIn(data: unknown, path: string): ErrorObject | undefined {
  if (typeof data === 'string')
    return UNSTORABLE.test(data) ? issue(path, 'text', {}, TEXT_MESSAGE) : undefined;
  if (typeof data !== 'object' || data === null) return undefined;
  for (const [key, value] of Object.entries(data)) {
    if (!Array.isArray(data) && UNSTORABLE.test(key))
      return issue(path, 'propertyNames', { propertyName: key }, TEXT_MESSAGE);
    const found = unstorableIn(value, `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    if (found) return found;
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
