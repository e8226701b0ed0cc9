// The login side: the OAuth token endpoint, token revocation and the identity URL.
import { OAuthError } from '../errors.ts';
import type { Reply } from '../http.ts';
import type { Identity } from '../auth.ts';
import type { EmulatorState } from '../state.ts';

/** `POST /services/oauth2/token` with a form body. */
export function tokenReply(method: string, bodyText: string, state: EmulatorState): Reply {
  if (method !== 'POST') return oauthError(new OAuthError('invalid_request', 'must use HTTP POST'));
  try {
    return {
      status: 200,
      body: state.tokens.grant(new URLSearchParams(bodyText), state.loginUrl()),
    };
  } catch (err) {
    if (err instanceof OAuthError) return oauthError(err);
    throw err;
  }
}

/** `POST /services/oauth2/revoke` with `token=` in the form body or the query. */
export function revokeReply(url: URL, bodyText: string, state: EmulatorState): Reply {
  const token = new URLSearchParams(bodyText).get('token') ?? url.searchParams.get('token');
  if (!token)
    return oauthError(new OAuthError('unsupported_token_type', 'this token type is not supported'));
  state.tokens.revoke(token);
  return { status: 200 };
}

/** `GET /id/{orgId}/{userId}`: the identity service jsforce's `conn.identity()` reads. */
export function identityReply(
  authorization: string | undefined,
  identity: Identity,
  username: string,
  state: EmulatorState,
): Reply {
  if (!state.tokens.verify(authorization)) return { status: 403, body: 'Bad_OAuth_Token' };
  const base = state.loginUrl();
  return {
    status: 200,
    body: {
      id: `${base}/id/${identity.orgId}/${identity.userId}`,
      user_id: identity.userId,
      organization_id: identity.orgId,
      username,
      display_name: 'rtws Integration',
      user_type: 'STANDARD',
      active: true,
      urls: {
        rest: `${base}/services/data/v{version}/`,
        sobjects: `${base}/services/data/v{version}/sobjects/`,
        query: `${base}/services/data/v{version}/query/`,
      },
    },
  };
}

function oauthError(err: OAuthError): Reply {
  return { status: 400, body: { error: err.error, error_description: err.message } };
}
