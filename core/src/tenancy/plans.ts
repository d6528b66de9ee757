import { recordAudit } from './audit.js';
import { inTransaction, type Db, type Queryable } from './db.js';
import { parseInput, TenancyError } from './errors.js';
import { updatePlanSchema, type Actor, type OrgRef, type UpdatePlanInput } from './schemas.js';

export interface Plan {
  orgId: string;
  plan: string;
  /** spans per calendar month; null = unlimited */
  monthlySpanQuota: number | null;
  /** spans per second; null = unlimited */
  ingestRateLimitPerS: number | null;
  updatedAt: Date;
}

interface PlanRow {
  org_id: string;
  plan: string;
  monthly_span_quota: string | null;
  ingest_rate_limit_per_s: number | null;
  updated_at: Date;
}

const PLAN_COLUMNS = 'org_id, plan, monthly_span_quota, ingest_rate_limit_per_s, updated_at';

const toPlan = (r: PlanRow): Plan => ({
  orgId: r.org_id,
  plan: r.plan,
  monthlySpanQuota: r.monthly_span_quota === null ? null : Number(r.monthly_span_quota),
  ingestRateLimitPerS: r.ingest_rate_limit_per_s,
  updatedAt: r.updated_at,
});

const snapshot = (p: Plan): Record<string, unknown> => ({ plan: p.plan, monthlySpanQuota: p.monthlySpanQuota, ingestRateLimitPerS: p.ingestRateLimitPerS });

/** The organization's plan; null when the organization has no plan row (or does not exist). */
export async function getPlan(db: Queryable, orgId: string): Promise<Plan | null> {
  const { rows } = await db.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM org_plans WHERE org_id = $1`, [orgId]);
  return rows[0] ? toPlan(rows[0]) : null;
}

/**
 * Changes the plan and its limits; omitted fields keep their value, `null` removes a
 * limit. An organization without a plan row gets one.
 */
export async function updatePlan(db: Db, actor: Actor, input: OrgRef & UpdatePlanInput): Promise<Plan> {
  const { orgId, ...fields } = input;
  const patch = parseInput(updatePlanSchema, fields);
  return inTransaction(db, async (client) => {
    const org = await client.query('SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE', [orgId]);
    if (org.rowCount === 0) throw new TenancyError('not_found', 'organization not found', { field: 'orgId' });
    const current = await client.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM org_plans WHERE org_id = $1 FOR UPDATE`, [orgId]);
    const before = current.rows[0] ? toPlan(current.rows[0]) : null;
    const next = {
      plan: patch.plan ?? before?.plan ?? 'free',
      monthlySpanQuota: patch.monthlySpanQuota !== undefined ? patch.monthlySpanQuota : (before?.monthlySpanQuota ?? null),
      ingestRateLimitPerS: patch.ingestRateLimitPerS !== undefined ? patch.ingestRateLimitPerS : (before?.ingestRateLimitPerS ?? null),
    };
    const { rows } = await client.query<PlanRow>(
      `INSERT INTO org_plans (org_id, plan, monthly_span_quota, ingest_rate_limit_per_s) VALUES ($1, $2, $3, $4)
       ON CONFLICT (org_id) DO UPDATE SET plan = EXCLUDED.plan, monthly_span_quota = EXCLUDED.monthly_span_quota,
         ingest_rate_limit_per_s = EXCLUDED.ingest_rate_limit_per_s, updated_at = now()
       RETURNING ${PLAN_COLUMNS}`,
      [orgId, next.plan, next.monthlySpanQuota, next.ingestRateLimitPerS],
    );
    const plan = toPlan(rows[0]!);
    await recordAudit(client, {
      orgId,
      actor,
      action: 'plan.update',
      targetType: 'plan',
      targetId: orgId,
      before: before ? snapshot(before) : null,
      after: snapshot(plan),
    });
    return plan;
  });
}
