import { resolvePersonalToken, type KeyCache, type Queryable } from '@canopy/core';
import { QueryError } from '../errors.js';
import type { Principal } from './principal.js';

export interface AuthenticatorDeps {
  pg: Queryable;
  keys: Pick<KeyCache, 'resolve'>;
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Resolves an `Authorization: Bearer <secret>` header: a personal access token
 * (`cnp_pat_…`, checked in Postgres on every request, so a revoked one stops at once)
 * or an API key (`cnp_api_…`, through the key cache, which Postgres notifies of every
 * change). Anything else is `unauthorized`. The secret is never logged or echoed.
 */
export function createAuthenticator(deps: AuthenticatorDeps): (header: string | undefined) => Promise<Principal> {
  return async (header) => {
    if (header === undefined || header === '') throw new QueryError('unauthorized', 'missing bearer token: send Authorization: Bearer <token>');
    const secret = BEARER.exec(header)?.[1];
    if (secret === undefined) throw new QueryError('unauthorized', 'malformed Authorization header: expected Bearer <token>');
    if (secret.startsWith('cnp_pat_')) {
      const token = await resolvePersonalToken(deps.pg, secret);
      if (token) return { type: 'user', id: token.userId, tokenId: token.tokenId };
    } else if (secret.startsWith('cnp_api_')) {
      const key = await deps.keys.resolve(secret);
      if (key) return { type: 'api_key', id: key.keyId, orgId: key.orgId, workspaceId: key.workspaceId, scopes: key.scopes };
    }
    throw new QueryError('unauthorized', 'unknown, revoked or expired token');
  };
}
