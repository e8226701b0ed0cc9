// Where customers live in Salesforce, as configured: the object, the external-id field and the
// field map, read from SALESFORCE_FIELD_MAP once per configuration; and, where a worker first
// reaches Salesforce, the three checked against the object's describe. Either failing names the
// variable and the field (a ConfigError: exit code 2).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Connection } from 'jsforce';
import type { Config } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { FieldMapError, parseFieldMap } from '../../adapters/salesforce/field-map-file.ts';
import {
  describeFields,
  targetProblems,
  type TargetProblem,
} from '../../adapters/salesforce/describe-check.ts';
import type { SalesforceTarget } from '../../adapters/salesforce/target.ts';

const loaded = new WeakMap<Config, SalesforceTarget>();

/** The target the configuration names; the file is read on the first call for a configuration. */
export function salesforceTarget(config: Config): SalesforceTarget {
  const known = loaded.get(config);
  if (known) return known;
  const { object, externalIdField, fieldMapFile } = config.salesforce;
  const target: SalesforceTarget = Object.freeze({
    object,
    externalIdField,
    ...(fieldMapFile === undefined
      ? {}
      : { fieldMap: readFieldMap(fieldMapFile, { object, externalIdField }) }),
  });
  loaded.set(config, target);
  return target;
}

function readFieldMap(
  file: string,
  target: { object: string; externalIdField: string },
): SalesforceTarget['fieldMap'] {
  let text: string;
  try {
    text = readFileSync(resolve(file), 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError('SALESFORCE_FIELD_MAP', `${file} cannot be read (${reason})`);
  }
  try {
    return parseFieldMap(text, target);
  } catch (err) {
    if (err instanceof FieldMapError)
      throw new ConfigError('SALESFORCE_FIELD_MAP', `${file}: ${err.message}`);
    throw err;
  }
}

/**
 * The target checked against its object's describe (one API call). An object that does not
 * exist, or a map or external-id field it refuses, is a ConfigError naming every field at fault;
 * a Salesforce that does not answer is thrown as it is, to be tried again.
 */
export async function checkSalesforceTarget(
  conn: Connection,
  target: SalesforceTarget,
  fieldMapFile: string | undefined,
): Promise<void> {
  const fields = await describeFields(conn, target.object).catch((err: unknown) => {
    if ((err as { errorCode?: unknown }).errorCode === 'NOT_FOUND')
      throw new ConfigError(
        'SALESFORCE_OBJECT',
        `${target.object} does not exist in Salesforce, or the integration user cannot see it`,
      );
    throw err;
  });
  const problems = targetProblems(target, fields);
  const first = problems[0];
  if (!first) return;
  const map = fieldMapFile ?? 'the default Account map (SALESFORCE_FIELD_MAP is unset)';
  const said = (p: TargetProblem) =>
    p.setting === 'SALESFORCE_FIELD_MAP' ? `${map}: ${p.message}` : p.message;
  const rest = problems
    .slice(1)
    .map((p) => (p.setting === first.setting ? said(p) : `${p.setting}: ${said(p)}`));
  throw new ConfigError(first.setting, [said(first), ...rest].join('; '));
}
