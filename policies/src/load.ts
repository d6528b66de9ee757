import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { API_KEY_SCOPES, type ApiKeyScope, type PgPool } from '@canopy/core';
import { isOrgRole, isWorkspaceRole } from './roles.js';
import type { TenantFact } from './types.js';

export interface LoadedFacts {
  facts: TenantFact[];
  /** same rows, same fingerprint: a reload that finds one can keep the current policy */
  fingerprint: string;
  /** rows with a role or scope this build does not know; they grant nothing */
  skipped: number;
}

interface FactRow {
  kind: 'org_role' | 'workspace_role' | 'workspace' | 'key_scope';
  principal_id: string;
  role: string;
  org_id: string;
  workspace_id: string | null;
  expires_ms: string | null;
}

/**
 * Every grant in one statement, so the rows are one consistent snapshot.
 * - A workspace role counts only while its user is still a member of the workspace's
 *   org: removing someone from the org takes away every workspace with it.
 * - Keys: not revoked, not expired, and a workspace key's workspace must belong to the
 *   key's own org.
 */
const FACTS_SQL = `
  SELECT * FROM (
    SELECT 'org_role' AS kind, m.user_id AS principal_id, m.role, m.org_id, NULL::text AS workspace_id, NULL::bigint AS expires_ms
      FROM org_members m
    UNION ALL
    SELECT 'workspace_role', wm.user_id, wm.role, w.org_id, wm.workspace_id, NULL
      FROM workspace_members wm
      JOIN workspaces w ON w.id = wm.workspace_id
      JOIN org_members om ON om.org_id = w.org_id AND om.user_id = wm.user_id
    UNION ALL
    SELECT 'workspace', w.id, '', w.org_id, w.id, NULL
      FROM workspaces w
    UNION ALL
    SELECT 'key_scope', k.id, s.scope, k.org_id, k.workspace_id, floor(extract(epoch FROM k.expires_at) * 1000)::bigint
      FROM api_keys k
      CROSS JOIN LATERAL unnest(k.scopes) AS s(scope)
      WHERE k.revoked_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > now())
        AND (k.workspace_id IS NULL OR EXISTS (SELECT 1 FROM workspaces kw WHERE kw.id = k.workspace_id AND kw.org_id = k.org_id))
  ) facts
  -- byte order: cheaper than the locale's, and only the fingerprint needs an order
  ORDER BY kind COLLATE "C", principal_id COLLATE "C", role COLLATE "C", org_id COLLATE "C", workspace_id COLLATE "C"`;

const ROWS_PER_TURN = 5_000;
const SCOPES: ReadonlySet<string> = new Set(API_KEY_SCOPES);
const isScope = (value: string): value is ApiKeyScope => SCOPES.has(value);

/** Reads every grant from Postgres as tenant facts. */
export async function loadTenantFacts(pool: PgPool): Promise<LoadedFacts> {
  const { rows } = await pool.query<FactRow>(FACTS_SQL);
  const hash = createHash('sha256');
  const facts: TenantFact[] = [];
  let skipped = 0;
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % ROWS_PER_TURN === 0) await nextTurn(); // a large tenant base must not stall request handling
    const row = rows[i]!;
    hash.update(`${row.kind}\0${row.principal_id}\0${row.role}\0${row.org_id}\0${row.workspace_id ?? ''}\0${row.expires_ms ?? ''}\n`);
    const fact = toFact(row);
    if (fact) facts.push(fact);
    else skipped++;
  }
  return { facts, fingerprint: hash.digest('hex'), skipped };
}

function toFact(row: FactRow): TenantFact | null {
  switch (row.kind) {
    case 'org_role':
      return isOrgRole(row.role) ? { kind: 'org_role', userId: row.principal_id, orgId: row.org_id, role: row.role } : null;
    case 'workspace_role':
      return isWorkspaceRole(row.role) && row.workspace_id !== null
        ? { kind: 'workspace_role', userId: row.principal_id, workspaceId: row.workspace_id, role: row.role }
        : null;
    case 'workspace':
      return { kind: 'workspace', workspaceId: row.principal_id, orgId: row.org_id };
    case 'key_scope':
      return isScope(row.role)
        ? {
            kind: 'key_scope',
            keyId: row.principal_id,
            orgId: row.org_id,
            workspaceId: row.workspace_id,
            scope: row.role,
            expiresAtMs: row.expires_ms === null ? null : Number(row.expires_ms),
          }
        : null;
  }
}
