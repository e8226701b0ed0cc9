// Errors leave as application/problem+json (RFC 9457). Client errors name the offending field;
// our own failures are masked (5xx), logged with their cause, and never dressed up as a 4xx.
import { isInfrastructureFault } from '../../core/infrastructure.ts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RtwsError, ValidationError, PreconditionFailedError } from '../../core/errors.ts';

/** The code of the rate limit's refusals (rate-limits.ts). */
export const RATE_LIMITED = 'rate_limited';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  field?: string;
  code?: string;
  [extra: string]: unknown;
}

const STATUS_BY_CODE: Record<string, number> = {
  validation_failed: 400,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  customer_erased: 410,
  idempotency_key_reused: 422,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function problem(status: number, detail?: string, extra: Partial<Problem> = {}): Problem {
  return {
    type: 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail ? { detail } : {}),
    ...extra,
  };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/address/city` → `address.city`; a missing or unknown property names itself. */
export function fieldOf(issue: AjvIssue): string {
  const path = issue.instancePath.split('/').filter(Boolean);
  const named =
    issue.params.missingProperty ?? issue.params.additionalProperty ?? issue.params.propertyName;
  if (typeof named === 'string' && issue.keyword !== 'propertyNames') path.push(named);
  return path.join('.');
}

function validationProblem(
  err: FastifyError & { validation: AjvIssue[]; validationContext?: string },
): Problem {
  const first = err.validation[0]!;
  const field = fieldOf(first);
  const where = err.validationContext ?? 'body';
  const subject = field || where;
  const message =
    first.keyword === 'additionalProperties'
      ? `unknown field "${subject}"`
      : first.keyword === 'propertyNames'
        ? `${subject} has an invalid key: ${first.message ?? ''}`
        : `${subject} ${first.message ?? 'is invalid'}`;
  return problem(400, message, { field: subject, in: where, code: 'validation_failed' });
}

/** The HTTP status Stripe answered, for an error of Stripe's SDK (its `type` is `Stripe…Error`). */
function stripeStatusOf(err: FastifyError): number | undefined {
  const type = (err as { type?: unknown }).type;
  const status = err.statusCode;
  return typeof type === 'string' && type.startsWith('Stripe') && typeof status === 'number'
    ? status
    : undefined;
}

export function errorHandler(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if ('validation' in err && Array.isArray(err.validation)) {
    return sendProblem(reply, validationProblem(err as FastifyError & { validation: AjvIssue[] }));
  }
  if (err instanceof ValidationError) {
    return sendProblem(reply, problem(400, err.message, { field: err.field, code: err.code }));
  }
  if (err instanceof PreconditionFailedError) {
    return sendProblem(
      reply,
      problem(412, err.message, { code: err.code, current_version: err.currentVersion }),
    );
  }
  if (err instanceof RtwsError && STATUS_BY_CODE[err.code] && STATUS_BY_CODE[err.code]! < 500) {
    return sendProblem(reply, problem(STATUS_BY_CODE[err.code]!, err.message, { code: err.code }));
  }
  // Stripe answering a call rtws made within the request (a dry run's list, say): our failure,
  // never the caller's, and its message, which may name part of a key, stays out of the answer.
  const upstream = stripeStatusOf(err);
  if (upstream !== undefined) {
    request.log.error(
      { error: err.name, status: upstream, code: err.code },
      'Stripe refused a call rtws made for the request',
    );
    if (upstream === 429) {
      reply.header('retry-after', '1');
      return sendProblem(
        reply,
        problem(503, 'Stripe is limiting rtws; retry shortly', { code: 'unavailable' }),
      );
    }
    return sendProblem(
      reply,
      problem(502, `Stripe answered ${upstream} to a call rtws made`, {
        code: 'upstream_refused',
        request_id: request.id,
      }),
    );
  }
  // Fastify's own client errors: bad JSON, body too large, wrong content type, a range or a
  // precondition the docs' files cannot meet, the rate limit's.
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return sendProblem(reply, problem(err.statusCode, err.message, { code: err.code }));
  }
  if ((err instanceof RtwsError && err.code === 'unavailable') || isInfrastructureFault(err)) {
    request.log.warn({ err }, 'dependency unavailable');
    reply.header('retry-after', '1');
    return sendProblem(
      reply,
      problem(503, 'a dependency is unavailable; retry shortly', { code: 'unavailable' }),
    );
  }
  request.log.error({ err }, 'request failed');
  return sendProblem(
    reply,
    problem(500, 'internal error', { code: 'internal', request_id: request.id }),
  );
}
