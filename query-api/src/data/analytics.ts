import {
  genaiInputSchema,
  genaiParamsSchema,
  genaiSummary,
  genaiSummarySchema,
  loadPriceBook,
  priceVersionShape,
  timeseries,
  TIMESERIES_DESCRIPTION,
  timeseriesInputSchema,
  timeseriesParamsSchema,
  timeseriesResultSchema,
} from '@canopy/core';
import { defineRoute } from '../http/route.js';
import { parseRequestPart } from '../http/validate.js';

const inWorkspace = (p: { ws: string }): { workspaceId: string } => ({ workspaceId: p.ws });

export const analyticsRoutes = [
  defineRoute({
    method: 'get',
    path: '/workspaces/:ws/analytics/timeseries',
    summary: 'Span count, error rate, latency percentiles, GenAI tokens and cost over time',
    description: TIMESERIES_DESCRIPTION,
    tags: ['analytics'],
    query: timeseriesParamsSchema,
    response: timeseriesResultSchema.extend(priceVersionShape),
    action: 'analytics:read',
    scope: inWorkspace,
    handler: async (ctx, { query }) => {
      const input = parseRequestPart(timeseriesInputSchema, query, 'query');
      const prices = await loadPriceBook(ctx.deps.pg, ctx.scope.orgId);
      const result = await timeseries({ clickhouse: ctx.deps.clickhouse, prices }, { orgId: ctx.scope.orgId, workspaceIds: [ctx.scope.workspaceId] }, input);
      return { ...result, priceVersion: prices.version };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/workspaces/:ws/analytics/genai',
    summary: 'GenAI token usage and cost by model, provider or service',
    description:
      'Token usage of the GenAI calls (spans carrying token usage, current OTel GenAI names and the older/vendor names) in [from, to), at most 31 days; a wrapper span whose child call also carries tokens is not counted again. Cost computed live with the current version of the organization price table (priceVersion); the finance view (/orgs/:org/usage) has the stored costs.',
    tags: ['analytics'],
    query: genaiParamsSchema,
    response: genaiSummarySchema.extend(priceVersionShape),
    action: 'analytics:read',
    scope: inWorkspace,
    handler: async (ctx, { query }) => {
      const input = parseRequestPart(genaiInputSchema, query, 'query');
      const prices = await loadPriceBook(ctx.deps.pg, ctx.scope.orgId);
      const summary = await genaiSummary({ clickhouse: ctx.deps.clickhouse, prices }, { orgId: ctx.scope.orgId, workspaceIds: [ctx.scope.workspaceId] }, input);
      return { ...summary, priceVersion: prices.version };
    },
  }),
];
