import { z } from 'zod';
import { getTrace, searchTraces, TRACE_SEARCH_DESCRIPTION, traceDetailSchema, traceIdSchema, traceSearchInputSchema, traceSearchParamsSchema, traceSearchResultSchema } from '@canopy/core';
import { QueryError } from '../errors.js';
import { defineRoute } from '../http/route.js';
import { parseRequestPart } from '../http/validate.js';

const inWorkspace = (p: { ws: string }): { workspaceId: string } => ({ workspaceId: p.ws });

export const traceRoutes = [
  defineRoute({
    method: 'get',
    path: '/workspaces/:ws/traces',
    summary: 'Search traces',
    description: TRACE_SEARCH_DESCRIPTION,
    tags: ['traces'],
    query: traceSearchParamsSchema,
    response: traceSearchResultSchema,
    action: 'trace:read',
    scope: inWorkspace,
    handler: async (ctx, { query }) => {
      const input = parseRequestPart(traceSearchInputSchema, query, 'query');
      return searchTraces(ctx.deps.clickhouse, { orgId: ctx.scope.orgId, workspaceIds: [ctx.scope.workspaceId] }, input);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/workspaces/:ws/traces/:traceId',
    summary: 'Every span of one trace, with its tree for a waterfall',
    description: 'Spans by start time with attributes, resource, scope, events, links, depth and children. An unknown trace, or one of another workspace, is 404.',
    tags: ['traces'],
    params: z.object({ ws: z.string(), traceId: traceIdSchema }),
    response: traceDetailSchema,
    action: 'trace:read',
    scope: inWorkspace,
    handler: async (ctx, { params }) => {
      const trace = await getTrace(ctx.deps.clickhouse, { orgId: ctx.scope.orgId, workspaceIds: [ctx.scope.workspaceId] }, params.traceId);
      if (!trace) throw new QueryError('not_found', 'trace not found', { field: 'traceId' });
      return trace;
    },
  }),
];
