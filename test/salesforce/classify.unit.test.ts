// Salesforce's errors as jsforce raises them, sorted into the actor's failure kinds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  classifySalesforceError,
  loggableSalesforceError,
} from '../../adapters/salesforce/classify.ts';

const apiError = (errorCode: string, message = 'said Salesforce') =>
  Object.assign(new Error(message), { name: errorCode, errorCode });

const kind = (err: unknown) => classifySalesforceError(err).failure;

test('contention, outages, expired sessions and network failures are transient', () => {
  for (const code of [
    'UNABLE_TO_LOCK_ROW',
    'SERVER_UNAVAILABLE',
    'UNKNOWN_EXCEPTION',
    'INVALID_SESSION_ID',
    'ERROR_HTTP_502',
  ]) {
    assert.is(kind(apiError(code)), 'transient', code);
  }
  assert.is(kind(new Error('Request Timeout')), 'transient');
  assert.is(kind(new Error('Unable to refresh session due to: invalid_client')), 'transient');
  assert.is(kind(undefined), 'transient');
});

test('a spent quota is rate_limited; gone is not_found; a bad request is permanent', () => {
  assert.is(kind(apiError('REQUEST_LIMIT_EXCEEDED')), 'rate_limited');
  assert.is(kind(apiError('NOT_FOUND')), 'not_found');
  assert.is(kind(apiError('ENTITY_IS_DELETED')), 'not_found');
  for (const code of [
    'REQUIRED_FIELD_MISSING',
    'INVALID_FIELD',
    'FIELD_CUSTOM_VALIDATION_EXCEPTION',
    'DUPLICATE_VALUE',
    'MULTIPLE_CHOICES',
  ]) {
    assert.is(kind(apiError(code)), 'permanent', code);
  }
});

test("the reason is Salesforce's code and message, capped", () => {
  const { reason } = classifySalesforceError(apiError('INVALID_FIELD', 'No such column'));
  assert.is(reason, 'INVALID_FIELD: No such column');
  const long = classifySalesforceError(apiError('INVALID_FIELD', 'x'.repeat(2_000)));
  assert.is(long.reason.length, 500);
});

test("a log line names Salesforce's refusal by its code, never its message", () => {
  const refusal = Object.assign(new Error('Phone +1 555 0100 is not valid for Ada Lovelace'), {
    errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
  });
  assert.is(
    loggableSalesforceError(refusal),
    'Salesforce refused the request: FIELD_CUSTOM_VALIDATION_EXCEPTION',
  );
  const network = new Error('connect ECONNREFUSED 127.0.0.1:9');
  assert.is(loggableSalesforceError(network), 'Error: connect ECONNREFUSED 127.0.0.1:9');
});

test.run();
