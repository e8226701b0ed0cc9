// The OAuth 2.0 token endpoint's logic: client credentials, password and refresh-token grants,
// and the bearer tokens they hand out. Tokens are opaque random strings with an expiry.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OAuthError } from './errors.ts';

/** What the emulator accepts at its token endpoint. */
export interface Credentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string;
  readonly password: string;
}

/** The org and user every session belongs to. */
export interface Identity {
  readonly orgId: string;
  readonly userId: string;
}

/** A token response, in Salesforce's field names. */
export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  signature: string;
  scope: string;
  instance_url: string;
  id: string;
  token_type: 'Bearer';
  issued_at: string;
}

/** Persisted token state, so that a restarted emulator keeps its sessions. */
export interface TokenSnapshot {
  readonly access: Record<string, number>;
  readonly refresh: readonly string[];
}

const safeEqual = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

export class TokenIssuer {
  private access = new Map<string, number>();
  private refresh = new Set<string>();

  constructor(
    private readonly credentials: Credentials,
    private readonly identity: Identity,
    private readonly ttlMs: number,
    private readonly onChange: () => void,
  ) {}

  /** Runs one grant from the form fields; throws OAuthError as the token endpoint would answer. */
  grant(form: URLSearchParams, loginUrl: string): TokenResponse {
    const grantType = form.get('grant_type');
    switch (grantType) {
      case 'client_credentials':
        this.checkClient(form, true);
        return this.issue(loginUrl, false);
      case 'password':
        this.checkClient(form, true);
        if (
          !safeEqual(form.get('username') ?? '', this.credentials.username) ||
          !safeEqual(form.get('password') ?? '', this.credentials.password)
        ) {
          throw new OAuthError('invalid_grant', 'authentication failure');
        }
        return this.issue(loginUrl, true);
      case 'refresh_token': {
        // The secret is optional on a refresh, but must be right when given.
        this.checkClient(form, form.has('client_secret'));
        const token = form.get('refresh_token') ?? '';
        if (!this.refresh.has(token))
          throw new OAuthError('invalid_grant', 'expired access/refresh token');
        return { ...this.issue(loginUrl, false), refresh_token: token };
      }
      case null:
      default:
        throw new OAuthError('unsupported_grant_type', 'grant type not supported');
    }
  }

  /** A session for the SOAP login, which checks only the user. */
  soapLogin(username: string, password: string): string | undefined {
    if (
      !safeEqual(username, this.credentials.username) ||
      !safeEqual(password, this.credentials.password)
    )
      return undefined;
    this.pruneExpired();
    const token = this.newAccessToken();
    this.onChange();
    return token;
  }

  /** Whether an `Authorization` header carries a live token. */
  verify(authorization: string | undefined): boolean {
    const match = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(authorization ?? '');
    const expiresAt = match ? this.access.get(match[1]!) : undefined;
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  revoke(token: string): void {
    if (this.access.delete(token) || this.refresh.delete(token)) this.onChange();
  }

  /** Ends every access token; refresh tokens stay valid, as after a real session timeout. */
  expireAll(): void {
    this.access.clear();
    this.onChange();
  }

  snapshot(): TokenSnapshot {
    return { access: Object.fromEntries(this.access), refresh: [...this.refresh] };
  }

  load(snapshot: TokenSnapshot): void {
    this.access = new Map(Object.entries(snapshot.access));
    this.refresh = new Set(snapshot.refresh);
  }

  private checkClient(form: URLSearchParams, needSecret: boolean): void {
    if (!safeEqual(form.get('client_id') ?? '', this.credentials.clientId)) {
      throw new OAuthError('invalid_client_id', 'client identifier invalid');
    }
    if (needSecret && !safeEqual(form.get('client_secret') ?? '', this.credentials.clientSecret)) {
      throw new OAuthError('invalid_client', 'invalid client credentials');
    }
  }

  private issue(loginUrl: string, withRefresh: boolean): TokenResponse {
    this.pruneExpired();
    const issuedAt = String(Date.now());
    const accessToken = this.newAccessToken();
    const id = `${loginUrl}/id/${this.identity.orgId}/${this.identity.userId}`;
    const signature = createHmac('sha256', this.credentials.clientSecret)
      .update(id + issuedAt)
      .digest('base64');
    const response: TokenResponse = {
      access_token: accessToken,
      signature,
      scope: 'api refresh_token',
      instance_url: loginUrl,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    };
    if (withRefresh) {
      const refreshToken = `5Aep${randomBytes(42).toString('base64url')}`;
      this.refresh.add(refreshToken);
      response.refresh_token = refreshToken;
    }
    this.onChange();
    return response;
  }

  private newAccessToken(): string {
    const token = `${this.identity.orgId.slice(0, 15)}!${randomBytes(36).toString('base64url')}`;
    this.access.set(token, Date.now() + this.ttlMs);
    return token;
  }

  private pruneExpired(): void {
    const now = Date.now();
    for (const [token, expiresAt] of this.access) if (expiresAt <= now) this.access.delete(token);
  }
}
