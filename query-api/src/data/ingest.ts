import {
  ingestLedgerInputSchema,
  ingestLedgerParamsSchema,
  LEDGER_DESCRIPTION,
  listWorkspaces,
  orgLedgerReport,
  orgLedgerSchema,
  StorageError,
  workspaceLedgerReport,
  workspaceLedgerSchema,
  type LedgerReportDeps,
} from '@canopy/core';
import { QueryError } from '../errors.js';
import { defineRoute, type RouteDeps } from '../http/route.js';
import { parseRequestPart } from '../http/validate.js';

const tags = ['ingest'];
/** Same default as the configuration (CANOPY_QUEUE_PREFIX). */
const DEFAULT_QUEUE_PREFIX = 'canopy';

/** The ledger reads Redis for the lag (the pending batches); without it the answer would be incomplete, so 503. */
function reportDeps(deps: RouteDeps): LedgerReportDeps {
  if (!deps.redis || deps.redis.status !== 'ready') throw new QueryError('unavailable', 'the ingest lag cannot be read: Redis is unavailable; try again later');
  return { pool: deps.pg, clickhouse: deps.clickhouse, redis: deps.redis, queuePrefix: deps.queuePrefix ?? DEFAULT_QUEUE_PREFIX };
}

/** Redis failing mid-report is a dependency that is down, like storage: 503. */
async function orUnavailable<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof StorageError && err.code === 'queue_unavailable') throw new QueryError('unavailable', 'the ingest lag cannot be read: Redis is unavailable; try again later', { cause: err });
    throw err;
  }
}

export const ingestRoutes = [
  defineRoute({
    method: 'get',
    path: '/workspaces/:ws/ingest',
    summary: 'Ingest ledger of a workspace: accepted, refused, stored, dead-lettered and queued spans per minute, the lag, reconciliation',
    description: LEDGER_DESCRIPTION,
    tags,
    query: ingestLedgerParamsSchema,
    response: workspaceLedgerSchema,
    action: 'ingest_ledger:read',
    scope: (p) => ({ workspaceId: p.ws }),
    handler: async (ctx, { query }) => {
      const input = parseRequestPart(ingestLedgerInputSchema, query, 'query');
      return orUnavailable(workspaceLedgerReport(reportDeps(ctx.deps), ctx.scope, input));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/orgs/:org/ingest',
    summary: 'Ingest ledger across the organization: the series per workspace, totals, each workspace’s lag, reconciliation',
    description: `${LEDGER_DESCRIPTION} Series rows carry workspaceId and workspaceSlug.`,
    tags,
    query: ingestLedgerParamsSchema,
    response: orgLedgerSchema,
    action: 'ingest_ledger:read',
    scope: (p) => ({ orgId: p.org }),
    handler: async (ctx, { query }) => {
      const input = parseRequestPart(ingestLedgerInputSchema, query, 'query');
      const deps = reportDeps(ctx.deps);
      const workspaces = await listWorkspaces(ctx.deps.pg, ctx.scope.orgId);
      return orUnavailable(orgLedgerReport(deps, { orgId: ctx.scope.orgId, workspaces }, input));
    },
  }),
];
