import { getPriceList, loadUsageContext, priceListSchema, putPricesSchema, setOrgPrices, USAGE_DESCRIPTION, usageInputSchema, usageParamsSchema, usageReport, usageReportSchema, usageToCsv } from '@canopy/core';
import { defineRoute, download } from '../http/route.js';
import { parseRequestPart } from '../http/validate.js';

const inOrg = (p: { org: string }): { orgId: string } => ({ orgId: p.org });

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
    description: 'USD per million tokens as exact decimal strings: the organization’s own entries (source org) and the built-in list (source default).',
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
      'The body lists every model the organization prices itself; models it leaves out use the built-in list (an empty list returns to it). A model matches dated variants (gpt-4o → gpt-4o-2024-08-06). Audited as prices.update.',
    tags: ['usage'],
    body: putPricesSchema,
    response: priceListSchema,
    action: 'price:update',
    scope: inOrg,
    handler: async (ctx, { body }) => setOrgPrices(ctx.deps.pg, ctx.actor, { orgId: ctx.scope.orgId, ...body }),
  }),
];
