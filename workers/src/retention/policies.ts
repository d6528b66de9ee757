import type { PgPool } from '@canopy/core';
import type { RetentionPolicy } from './plan.js';

/**
 * Every workspace's retention period. Retention is the one job that looks across all
 * organizations at once, so it reads the table directly rather than org by org.
 */
export async function loadRetentionPolicies(pool: Pick<PgPool, 'query'>): Promise<RetentionPolicy[]> {
  const { rows } = await pool.query<{ id: string; org_id: string; retention_days: number }>('SELECT id, org_id, retention_days FROM workspaces ORDER BY org_id, id');
  return rows.map((r) => ({ orgId: r.org_id, workspaceId: r.id, retentionDays: r.retention_days }));
}
