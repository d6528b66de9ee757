import { z } from 'zod';
import { ACTOR_TYPES, auditQuerySchema, auditToCsv, listAudit, type AuditEntry, type AuditQuery } from '@canopy/core';
import { defineRoute, download } from '../http/route.js';
import { iso, timestamp } from './common.js';

export const auditEntrySchema = z.object({
  id: z.string(),
  orgId: z.string(),
  actorType: z.enum(ACTOR_TYPES),
  actorId: z.string(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  before: z.unknown().describe('the target before the change; null for a creation'),
  after: z.unknown().describe('the target after the change; null for a removal'),
  sourceIp: z.string().nullable(),
  createdAt: timestamp,
});

const toEntry = (e: AuditEntry): z.input<typeof auditEntrySchema> => ({ ...e, before: e.before ?? null, after: e.after ?? null, createdAt: iso(e.createdAt) });

const querySchema = auditQuerySchema.omit({ actorId: true }).extend({
  actor: z.string().min(1).optional().describe('actor id: a user id, key id or system name'),
  format: z.enum(['json', 'csv']).default('json'),
});

/** The most rows one CSV export holds; past it the answer carries X-Next-Cursor to continue from. */
const CSV_MAX_ROWS = 100_000;
const CSV_PAGE = 1_000;

export const auditRoutes = [
  defineRoute({
    method: 'get',
    path: '/orgs/:org/audit',
    summary: "The organization's audit log, newest first",
    description:
      'Filters: `actor`, `action`, `targetType`, `targetId`, `from` (inclusive), `to` (exclusive). JSON pages by `limit` and `cursor`; `format=csv` exports every matching entry (up to 100,000; then `X-Next-Cursor` continues) as a download.',
    tags: ['audit'],
    query: querySchema,
    response: z.object({ entries: z.array(auditEntrySchema), nextCursor: z.string().nullable() }),
    alsoProduces: ['text/csv'],
    action: 'audit:read',
    scope: (p: { org: string }) => ({ orgId: p.org }),
    handler: async (ctx, { query }) => {
      const { orgId } = ctx.scope;
      const { actor, format, ...rest } = query;
      const filter: AuditQuery = { ...rest, ...(actor === undefined ? {} : { actorId: actor }) };
      if (format === 'json') {
        const page = await listAudit(ctx.deps.pg, orgId, filter);
        return { entries: page.entries.map(toEntry), nextCursor: page.nextCursor };
      }
      const entries: AuditEntry[] = [];
      let cursor = filter.cursor;
      do {
        const page = await listAudit(ctx.deps.pg, orgId, { ...filter, limit: CSV_PAGE, ...(cursor === undefined ? {} : { cursor }) });
        entries.push(...page.entries);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined && entries.length < CSV_MAX_ROWS);
      const day = new Date().toISOString().slice(0, 10);
      return download(auditToCsv(entries), {
        contentType: 'text/csv; charset=utf-8',
        filename: `canopy-audit-${orgId}-${day}.csv`,
        ...(cursor === undefined ? {} : { headers: { 'X-Next-Cursor': cursor } }),
      });
    },
  }),
];
