// Request validation is strict: bodies, params and headers are never coerced and unknown fields are
// never stripped silently (`name: 42` and an unknown field are both 400s). Only the query string,
// which is text by nature, is coerced to the declared types.
import { Ajv, type Options } from 'ajv';
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
  return addFormats(ajv);
}

const strict = makeAjv({ coerceTypes: false });
const query = makeAjv({ coerceTypes: true });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'querystring' ? query : strict).compile(schema as object);
