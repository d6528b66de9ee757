import { z } from 'zod';
import type { ClickHouse } from '../../clickhouse/client.js';
import { recordAudit } from '../../tenancy/audit.js';
import { inTransaction, type Db } from '../../tenancy/db.js';
import { parseInput, TenancyError } from '../../tenancy/errors.js';
import type { Actor, OrgRef } from '../../tenancy/schemas.js';
import { listWorkspaces } from '../../tenancy/workspaces.js';
import { DAY_MS, MAX_USAGE_RANGE_DAYS } from '../params.js';
import { byCell, readGenAiCells, type DayRange } from './cells.js';
import { lockCosts, priceCell, writeDayCosts, type PricedCell } from './costs.js';
import { formatUsd } from './money.js';
import { costsWriteFailure } from './pg-failure.js';
import { currentPriceVersion, getPriceVersion, versionedBook } from './price-versions.js';

const utcDay = (d: Date): string => d.toISOString().slice(0, 10);

export const daySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day, YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && utcDay(new Date(`${d}T00:00:00Z`)) === d, 'not a calendar day');

/** The days of a range, in order. */
export function daysOf(range: DayRange): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${range.fromDay}T00:00:00Z`); t <= Date.parse(`${range.toDay}T00:00:00Z`); t += DAY_MS) out.push(utcDay(new Date(t)));
  return out;
}

const dayCount = (range: DayRange): number => (Date.parse(`${range.toDay}T00:00:00Z`) - Date.parse(`${range.fromDay}T00:00:00Z`)) / DAY_MS + 1;

export const repriceSchema = z
  .object({
    from: daySchema.describe('first UTC day to re-price, YYYY-MM-DD'),
    to: daySchema.describe(`last UTC day to re-price (included), YYYY-MM-DD; a closed day (before today), at most ${MAX_USAGE_RANGE_DAYS} days after from`),
    version: z.number().int().positive().optional().describe('the price table version to price with; default: the current one'),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.to < r.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    else if (dayCount({ fromDay: r.from, toDay: r.to }) > MAX_USAGE_RANGE_DAYS) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `the range may cover at most ${MAX_USAGE_RANGE_DAYS} days` });
    }
  });
export type RepriceInput = z.input<typeof repriceSchema>;

export const repriceResultSchema = z.object({
  from: z.string(),
  to: z.string(),
  version: z.number().int().describe('the version the period is priced with now'),
  days: z.number().int().describe('days re-priced (each is now on this version, also days without calls)'),
  before: z.object({
    costUsd: z.string().describe('what was stored for the period (days not priced yet count 0)'),
    priceVersions: z.array(z.number().int()).describe('the versions the period was priced with'),
  }),
  after: z.object({ costUsd: z.string() }),
});
export type RepriceResult = z.infer<typeof repriceResultSchema>;

const perWorkspace = (rows: ReadonlyArray<{ workspaceId: string; costPico: bigint }>): Record<string, string> => {
  const sums = new Map<string, bigint>();
  for (const r of rows) sums.set(r.workspaceId, (sums.get(r.workspaceId) ?? 0n) + r.costPico);
  return Object.fromEntries([...sums].sort(([a], [b]) => (a < b ? -1 : 1)).map(([ws, pico]) => [ws, formatUsd(pico)]));
};

/**
 * Re-prices the stored GenAI costs of closed days with a price table version (default: the
 * current one): tokens are read again from ClickHouse with the usage report's query, and
 * the period's costs are replaced in one transaction with one audit entry
 * (`prices.reprice`) holding the totals per workspace before and after and the versions
 * replaced. The only way stored costs move to another version. A Postgres failure is an
 * `unavailable` StorageError or a `conflict` TenancyError (see `costsWriteFailure`).
 */
export async function repriceCosts(deps: { pg: Db; clickhouse: ClickHouse; now?: Date }, actor: Actor, input: OrgRef & RepriceInput): Promise<RepriceResult> {
  try {
    return await reprice(deps, actor, input);
  } catch (err) {
    throw costsWriteFailure(err, `cannot re-price ${String(input.from)}..${String(input.to)}`);
  }
}

async function reprice(deps: { pg: Db; clickhouse: ClickHouse; now?: Date }, actor: Actor, input: OrgRef & RepriceInput): Promise<RepriceResult> {
  const { orgId, ...fields } = input;
  const parsed = parseInput(repriceSchema, fields);
  const today = utcDay(deps.now ?? new Date());
  if (parsed.to >= today) throw new TenancyError('invalid', `to: only closed days (before ${today}, UTC) can be re-priced`, { field: 'to' });
  const range = { fromDay: parsed.from, toDay: parsed.to };
  const version = parsed.version === undefined ? await currentPriceVersion(deps.pg, orgId) : await getPriceVersion(deps.pg, orgId, parsed.version);
  const book = versionedBook(version);
  const workspaceIds = (await listWorkspaces(deps.pg, orgId)).map((w) => w.id);
  const cells = workspaceIds.length ? await readGenAiCells(deps.clickhouse, { orgId, workspaceIds }, range) : [];
  const priced: PricedCell[] = [...byCell(cells).values()].map((c) => priceCell(c, book));
  const days = daysOf(range);

  return inTransaction(deps.pg, async (client) => {
    await lockCosts(client, orgId);
    const stored = await client.query<{ workspace_id: string; cost_pico: string }>(
      `SELECT workspace_id, sum(cost_pico)::text AS cost_pico FROM genai_costs
        WHERE org_id = $1 AND day BETWEEN $2::date AND $3::date AND workspace_id = ANY($4::text[]) GROUP BY workspace_id`,
      [orgId, range.fromDay, range.toDay, workspaceIds],
    );
    const replaced = await client.query<{ price_version: number }>(
      'SELECT DISTINCT price_version FROM genai_cost_days WHERE org_id = $1 AND day BETWEEN $2::date AND $3::date ORDER BY price_version',
      [orgId, range.fromDay, range.toDay],
    );
    const before = stored.rows.map((r) => ({ workspaceId: r.workspace_id, costPico: BigInt(r.cost_pico) }));
    await writeDayCosts(client, { orgId, workspaceIds, days, version: version.version, cells: priced });
    const beforeUsd = formatUsd(before.reduce((a, r) => a + r.costPico, 0n));
    const afterUsd = formatUsd(priced.reduce((a, r) => a + r.costPico, 0n));
    const priceVersions = replaced.rows.map((r) => r.price_version);
    await recordAudit(client, {
      orgId,
      actor,
      action: 'prices.reprice',
      targetType: 'genai_costs',
      targetId: `${range.fromDay}..${range.toDay}`,
      before: { priceVersions, costUsd: beforeUsd, workspaces: perWorkspace(before) },
      after: { version: version.version, days: days.length, costUsd: afterUsd, workspaces: perWorkspace(priced) },
    });
    return { from: range.fromDay, to: range.toDay, version: version.version, days: days.length, before: { costUsd: beforeUsd, priceVersions }, after: { costUsd: afterUsd } };
  });
}
