import { newId } from '../ids.js';
import { generateSecret, hashSecret } from '../keys/secrets.js';
import { recordAudit } from './audit.js';
import { inTransaction, type Db, type Queryable } from './db.js';
import { parseInput, TenancyError } from './errors.js';
import { createPersonalTokenSchema, type Actor, type CreatePersonalTokenInput } from './schemas.js';

/**
 * Personal tokens belong to a user, not to an organization, so their audit entries are
 * recorded under the user's id as scope (`listAudit(db, userId)`): the user's own trail.
 */

export interface PersonalTokenInfo {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

interface TokenRow {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, user_id, name, prefix, created_at, last_used_at, expires_at, revoked_at';

/** How stale last_used_at may get before a resolve writes it again. */
const LAST_USED_RESOLUTION_MS = 60_000;

const toInfo = (r: TokenRow): PersonalTokenInfo => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  prefix: r.prefix,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

const snapshot = (t: PersonalTokenInfo): Record<string, unknown> => ({
  id: t.id,
  userId: t.userId,
  name: t.name,
  prefix: t.prefix,
  expiresAt: t.expiresAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
});

/** Creates a personal token for `userId`; the secret is in the result only. */
export async function createPersonalToken(db: Db, actor: Actor, input: { userId: string } & CreatePersonalTokenInput): Promise<{ id: string; token: string; prefix: string }> {
  const { userId, ...fields } = input;
  const { name, expiresAt } = parseInput(createPersonalTokenSchema, fields);
  const { secret, prefix, hash } = generateSecret('pat');
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<TokenRow>(
      `INSERT INTO personal_tokens (id, user_id, name, prefix, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [newId('tok'), userId, name, prefix, hash, expiresAt ?? null],
    );
    const info = toInfo(rows[0]!);
    await recordAudit(client, { orgId: userId, actor, action: 'token.create', targetType: 'personal_token', targetId: info.id, after: snapshot(info) });
    return { id: info.id, token: secret, prefix };
  });
}

/** The user's tokens, revoked and expired ones included, newest first. */
export async function listPersonalTokens(db: Queryable, userId: string): Promise<PersonalTokenInfo[]> {
  const { rows } = await db.query<TokenRow>(`SELECT ${COLUMNS} FROM personal_tokens WHERE user_id = $1 ORDER BY created_at DESC, id`, [userId]);
  return rows.map(toInfo);
}

/**
 * Revokes one of the user's tokens; not_found when `tokenId` is not theirs. Revoking a
 * revoked token changes nothing and records nothing.
 */
export async function revokePersonalToken(db: Db, actor: Actor, input: { userId: string; tokenId: string }): Promise<PersonalTokenInfo> {
  const { userId, tokenId } = input;
  return inTransaction(db, async (client) => {
    const found = await client.query<TokenRow>(`SELECT ${COLUMNS} FROM personal_tokens WHERE id = $1 AND user_id = $2 FOR UPDATE`, [tokenId, userId]);
    if (!found.rows[0]) throw new TenancyError('not_found', 'token not found', { field: 'tokenId' });
    const before = toInfo(found.rows[0]);
    if (before.revokedAt) return before;
    const { rows } = await client.query<TokenRow>(`UPDATE personal_tokens SET revoked_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [tokenId]);
    const after = toInfo(rows[0]!);
    await recordAudit(client, { orgId: userId, actor, action: 'token.revoke', targetType: 'personal_token', targetId: tokenId, before: snapshot(before), after: snapshot(after) });
    return after;
  });
}

/**
 * Resolves a presented token to its user: null when unknown, revoked or expired. Marks
 * the token used, writing last_used_at at most once a minute per token.
 */
export async function resolvePersonalToken(db: Queryable, secret: string): Promise<{ tokenId: string; userId: string } | null> {
  if (!secret.startsWith('cnp_pat_')) return null;
  const { rows } = await db.query<{ id: string; user_id: string; last_used_at: Date | null }>(
    `SELECT id, user_id, last_used_at FROM personal_tokens
      WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    [hashSecret(secret)],
  );
  const row = rows[0];
  if (!row) return null;
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
    await db.query(
      `UPDATE personal_tokens SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= now() - make_interval(secs => $2))`,
      [row.id, LAST_USED_RESOLUTION_MS / 1000],
    );
  }
  return { tokenId: row.id, userId: row.user_id };
}
