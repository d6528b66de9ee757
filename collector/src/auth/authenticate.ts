import type { IncomingHttpHeaders } from 'node:http';
import type { ApiKeyPrincipal, KeyCache } from '@canopy/core';
import { IngestError } from '../errors.js';

/** An ingest key resolved to the tenant its spans belong to. */
export interface IngestPrincipal {
  keyId: string;
  orgId: string;
  workspaceId: string;
}

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`; null when neither is sent. */
export function presentedKey(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (auth) {
    const match = BEARER.exec(auth);
    if (match?.[1]) return match[1];
  }
  const apiKey = headers['x-api-key'];
  const value = Array.isArray(apiKey) ? apiKey[0] : apiKey;
  return value?.trim() || null;
}

/**
 * Admits a request whose key may ingest into a workspace. Unknown, revoked and expired
 * keys all read as "invalid" so a caller learns nothing about which keys exist. The
 * key itself never reaches an error message or a log line.
 */
export async function authenticate(keys: Pick<KeyCache, 'resolve'>, headers: IncomingHttpHeaders): Promise<IngestPrincipal> {
  const secret = presentedKey(headers);
  if (!secret) throw new IngestError('missing_key', 'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"');
  let principal: ApiKeyPrincipal | null;
  try {
    principal = await keys.resolve(secret);
  } catch (err) {
    // Postgres is unreachable and the key is not cached yet: the client should retry.
    throw new IngestError('auth_unavailable', 'cannot verify the API key right now; retry later', { cause: err });
  }
  if (!principal) throw new IngestError('invalid_key', 'the API key is unknown, revoked or expired');
  if (!principal.scopes.includes('ingest')) throw new IngestError('forbidden', 'the API key does not have the ingest scope');
  if (!principal.workspaceId) throw new IngestError('forbidden', 'the API key does not belong to a workspace; ingest needs a workspace key');
  return { keyId: principal.keyId, orgId: principal.orgId, workspaceId: principal.workspaceId };
}
