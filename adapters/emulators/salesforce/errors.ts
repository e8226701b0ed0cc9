// Salesforce reports failures as `[{message, errorCode, fields?}]`; inside sObject Collections results
// the same error carries `statusCode` instead. One class serves both renderings.

/** A Salesforce API error with the HTTP status it is sent with. */
export class SalesforceApiError extends Error {
  readonly status: number;
  readonly errorCode: string;
  readonly fields: readonly string[] | undefined;

  constructor(
    status: number,
    errorCode: string,
    message: string,
    fields?: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SalesforceApiError';
    this.status = status;
    this.errorCode = errorCode;
    this.fields = fields;
  }

  /** The REST body entry. */
  toRest(): { message: string; errorCode: string; fields?: string[] } {
    return this.fields
      ? { message: this.message, errorCode: this.errorCode, fields: [...this.fields] }
      : { message: this.message, errorCode: this.errorCode };
  }

  /** The entry inside a collection's per-record result. */
  toCollection(): { statusCode: string; message: string; fields: string[] } {
    return { statusCode: this.errorCode, message: this.message, fields: [...(this.fields ?? [])] };
  }
}

/** An OAuth token endpoint failure: `{error, error_description}` with a 400. */
export class OAuthError extends Error {
  readonly error: string;

  constructor(error: string, description: string) {
    super(description);
    this.name = 'OAuthError';
    this.error = error;
  }
}

export const notFound = (): SalesforceApiError =>
  new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');

export const entityIsDeleted = (): SalesforceApiError =>
  new SalesforceApiError(404, 'ENTITY_IS_DELETED', 'entity is deleted', []);

export const malformedQuery = (detail: string): SalesforceApiError =>
  new SalesforceApiError(400, 'MALFORMED_QUERY', detail);

export const invalidField = (message: string): SalesforceApiError =>
  new SalesforceApiError(400, 'INVALID_FIELD', message);

export const sessionInvalid = (): SalesforceApiError =>
  new SalesforceApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');

export const requestLimitExceeded = (): SalesforceApiError =>
  new SalesforceApiError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
