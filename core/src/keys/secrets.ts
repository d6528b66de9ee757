import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type KeyKind = 'api' | 'pat';

/**
 * A secret is 32 random bytes (256 bits) in base64url behind a readable kind marker,
 * e.g. `cnp_api_3q2…`. Only its SHA-256 is stored; the prefix is kept to show users
 * which key is which.
 */
export function generateSecret(kind: KeyKind): { secret: string; prefix: string; hash: string } {
  const secret = `cnp_${kind}_${randomBytes(32).toString('base64url')}`;
  return { secret, prefix: secret.slice(0, 16), hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
