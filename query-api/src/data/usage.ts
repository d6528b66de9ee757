import {
  getPriceList,
  getPriceVersionView,
  listPriceVersions,
  loadUsageContext,
  priceListSchema,
  priceVersionListSchema,
  priceVersionSchema,
  putPricesSchema,
  repriceCosts,
  repriceResultSchema,
  repriceSchema,
  setOrgPrices,
  USAGE_DESCRIPTION,
  usageInputSchema,
  usageParamsSchema,
  usageReport,
  usageReportSchema,
  usageToCsv,
} from '@canopy/core';
import { z } from 'zod';
import { defineRoute, download } from '../http/route.js';
import { parseRequestPart } from '../http/validate.js';

const inOrg = (p: { org: string }): { orgId: string } => ({ orgId: p.org });

const versionParams = z.object({
  org: z.string(),
  version: z
    .string()
    .regex(/^[1-9]\d{0,8}$/, 'a price table version number')
    .transform(Number),
});

export const usageRoutes = [
  defineRoute({
    method: 'get',
    path: '/orgs/:org/usage',
    summary: 'Organization usage for finance: spans, bytes, GenAI tokens and cost, quota',
    description: USAGE_DESCRIPTION,
    tags: ['usage'],
    query: usageParamsSchema,
    response: usageReportSchema,
    alsoProduces: ['text/csv'],
    action: 'usage:read',
    scope: inOrg,
    handler: async (ctx, { query }) => {
      const input = parseRequestPart(usageInputSchema, query, 'query');
      const { scope, context } = await loadUsageContext(ctx.deps.pg, ctx.scope.orgId);
      const report = await usageReport({ clickhouse: ctx.deps.clickhouse, context }, scope, input);
      if (input.format === 'json') return report;
      return download(usageToCsv(report), {
        contentType: 'text/csv; charset=utf-8',
        filename: `canopy-usage-${ctx.scope.orgId}-${report.from}-${report.to}.csv`,
      });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/orgs/:org/prices',
    summary: 'Model prices the organization is billed with',
    description:
      'USD per million tokens as exact decimal strings: the organization’s own entries (source org) and the built-in list (source default), as the current price table version.',
    tags: ['usage'],
    response: priceListSchema,
    action: 'billing:read',
    scope: inOrg,
    handler: async (ctx) => getPriceList(ctx.deps.pg, ctx.scope.orgId),
  }),
  defineRoute({
    method: 'put',
    path: '/orgs/:org/prices',
    summary: 'Replace the organization’s own model prices',
    description:
      'The body lists every model the organization prices itself; models it leaves out use the built-in list (an empty list returns to it). A model matches dated variants (gpt-4o → gpt-4o-2024-08-06). Creates a new price table version (with the optional note); costs already stored keep their version until re-priced. Audited as prices.update.',
    tags: ['usage'],
    body: putPricesSchema,
    response: priceListSchema,
    action: 'price:update',
    scope: inOrg,
    handler: async (ctx, { body }) => setOrgPrices(ctx.deps.pg, ctx.actor, { orgId: ctx.scope.orgId, ...body }),
  }),
  defineRoute({
    method: 'get',
    path: '/orgs/:org/prices/versions',
    summary: 'Every version of the organization’s price table, newest first',
    tags: ['usage'],
    response: priceVersionListSchema,
    action: 'billing:read',
    scope: inOrg,
    handler: async (ctx) => listPriceVersions(ctx.deps.pg, ctx.scope.orgId),
  }),
  defineRoute({
    method: 'get',
    path: '/orgs/:org/prices/versions/:version',
    summary: 'One version of the organization’s price table, with every entry',
    tags: ['usage'],
    params: versionParams,
    response: priceVersionSchema,
    action: 'billing:read',
    scope: inOrg,
    handler: async (ctx, { params }) => getPriceVersionView(ctx.deps.pg, { orgId: ctx.scope.orgId, version: params.version }),
  }),
  defineRoute({
    method: 'post',
    path: '/orgs/:org/prices/reprice',
    summary: 'Re-price the stored GenAI costs of closed days with a price table version',
    description:
      'Recomputes the stored costs of the days from..to (inclusive, closed UTC days, at most 366) from the tokens ClickHouse holds, with version (default: the current one), in one transaction. Audited as prices.reprice with the totals per workspace before and after and the versions replaced. Unknown version: 404.',
    tags: ['usage'],
    body: repriceSchema,
    response: repriceResultSchema,
    action: 'price:update',
    scope: inOrg,
    handler: async (ctx, { body }) => repriceCosts({ pg: ctx.deps.pg, clickhouse: ctx.deps.clickhouse }, ctx.actor, { orgId: ctx.scope.orgId, ...body }),
  }),
];
