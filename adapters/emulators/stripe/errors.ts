/** The body Stripe sends under `error`; `type` decides which SDK error class the client raises. */
export interface StripeErrorBody {
  type: 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  doc_url?: string;
}

/** An error answered to the client in Stripe's wire shape. */
export class StripeApiError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    /** Extra response headers, e.g. `Stripe-Should-Retry`. */
    readonly headers: Record<string, string> = {},
    /**
     * True when the request changed state before failing (a declined payment): the answer is then
     * saved under the idempotency key like any other completed request.
     */
    readonly committed = false,
  ) {
    super(body.message);
    this.name = 'StripeApiError';
    this.code = body.code;
  }
}

export function invalidRequest(message: string, param?: string, code?: string): StripeApiError {
  const body: StripeErrorBody = { type: 'invalid_request_error', message };
  if (code !== undefined) body.code = code;
  if (param !== undefined) body.param = param;
  return new StripeApiError(400, body);
}

export function unknownParameter(param: string): StripeApiError {
  return invalidRequest(`Received unknown parameter: ${param}`, param, 'parameter_unknown');
}

export function missingParameter(param: string): StripeApiError {
  return invalidRequest(`Missing required param: ${param}.`, param, 'parameter_missing');
}

export function resourceMissing(
  kind: string,
  id: string,
  param = 'id',
  status = 404,
): StripeApiError {
  return new StripeApiError(status, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    param,
    message: `No such ${kind}: '${id}'`,
    doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
  });
}

export function unrecognizedUrl(method: string, path: string): StripeApiError {
  return new StripeApiError(404, {
    type: 'invalid_request_error',
    message:
      `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs ` +
      'or we can help at https://support.stripe.com/.',
  });
}

/** The error body a fault rule answers with when the rule does not give one. */
export function defaultFaultBody(status: number): StripeErrorBody {
  if (status === 429) {
    return {
      type: 'invalid_request_error',
      code: 'rate_limit',
      message: 'Too many requests hit the API too quickly.',
    };
  }
  if (status === 409) {
    return {
      type: 'invalid_request_error',
      code: 'lock_timeout',
      message:
        'This object cannot be accessed right now because another API request or Stripe process is currently accessing it.',
    };
  }
  if (status === 402)
    return {
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'generic_decline',
      message: 'Your card was declined.',
    };
  if (status >= 500)
    return {
      type: 'api_error',
      message: 'An unknown error occurred while processing your request.',
    };
  return { type: 'invalid_request_error', message: 'The request was rejected by a fault rule.' };
}
