import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { PgPool } from '../../src/postgres/pool.js';
import { TenancyError, type TenancyErrorCode } from '../../src/tenancy/index.js';

export interface AuditRow {
  org_id: string;
  actor_type: string;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string;
  before: unknown;
  after: unknown;
  source_ip: string | null;
}

/** Runs `fn` and returns it result with the audit rows it wrote (of any scope). */
export async function withAudit<T>(pool: PgPool, fn: () => Promise<T>): Promise<{ result: T; audit: AuditRow[] }> {
  const { rows } = await pool.query<{ max: string | null }>('SELECT max(id)::text AS max FROM audit_log');
  const since = rows[0]?.max ?? '0';
  const result = await fn();
  const written = await pool.query<AuditRow>(
    'SELECT org_id, actor_type, actor_id, action, target_type, target_id, before, after, source_ip FROM audit_log WHERE id > $1 ORDER BY id',
    [since],
  );
  return { result, audit: written.rows };
}

/** Like withAudit, for a call that must write exactly one entry; returns that entry. */
export async function oneAudit<T>(pool: PgPool, fn: () => Promise<T>): Promise<{ result: T; entry: AuditRow }> {
  const { result, audit } = await withAudit(pool, fn);
  expect(audit).toHaveLength(1);
  return { result, entry: audit[0]! };
}

export async function auditCount(pool: PgPool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
  return rows[0]!.n;
}

/** Expects `promise` to reject with a TenancyError of `code` (and `field`, when given). */
export async function expectTenancyError(promise: Promise<unknown>, code: TenancyErrorCode, field?: string): Promise<TenancyError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a TenancyError ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TenancyError);
  const te = err as TenancyError;
  expect({ code: te.code, ...(field !== undefined ? { field: te.field } : {}) }).toEqual({ code, ...(field !== undefined ? { field } : {}) });
  return te;
}

export const unique = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

export const admin = (id = 'usr_admin'): { type: 'user'; id: string; ip: string } => ({ type: 'user', id, ip: '203.0.113.7' });
export const system = { type: 'system', id: 'test' } as const;
