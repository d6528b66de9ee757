import { z } from 'zod';
import {
  createOrganization,
  createOrganizationSchema,
  getOrganization,
  getPlan,
  listOrganizationsForUser,
  orgRoleSchema,
  renameOrganization,
  renameOrganizationSchema,
  TenancyError,
  updatePlan,
  updatePlanSchema,
  type Organization,
  type Plan,
} from '@canopy/core';
import { defineRoute } from '../http/route.js';
import { iso, policyChanged, timestamp } from './common.js';

export const orgSchema = z.object({ id: z.string(), name: z.string(), createdAt: timestamp });
export const myOrgSchema = orgSchema.extend({ role: orgRoleSchema });
export const planSchema = z.object({
  orgId: z.string(),
  plan: z.string(),
  monthlySpanQuota: z.number().int().nullable().describe('spans per calendar month; null: unlimited'),
  ingestRateLimitPerS: z.number().int().nullable().describe('spans per second; null: unlimited'),
  updatedAt: timestamp,
});

export const toOrg = (o: Organization): z.input<typeof orgSchema> => ({ id: o.id, name: o.name, createdAt: iso(o.createdAt) });
const toPlan = (p: Plan): z.input<typeof planSchema> => ({ ...p, updatedAt: iso(p.updatedAt) });

const tags = ['organizations'];
const org = (p: { org: string }) => ({ orgId: p.org });

export const orgRoutes = [
  defineRoute({
    method: 'post',
    path: '/orgs',
    summary: 'Create an organization; the caller becomes its owner',
    tags,
    body: createOrganizationSchema,
    response: orgSchema,
    status: 201,
    action: null,
    principal: 'user',
    handler: async (ctx, { body }) => {
      const created = await createOrganization(ctx.deps.pg, ctx.actor, { name: body.name, ownerUserId: ctx.principal.id });
      await policyChanged(ctx);
      return toOrg(created);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/orgs',
    summary: "The caller's organizations, with its role in each",
    tags,
    response: z.object({ orgs: z.array(myOrgSchema) }),
    action: null,
    principal: 'user',
    handler: async (ctx) => {
      const orgs = await listOrganizationsForUser(ctx.deps.pg, ctx.principal.id);
      return { orgs: orgs.map((o) => ({ ...toOrg(o), role: o.role })) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/orgs/:org',
    summary: 'An organization',
    tags,
    response: orgSchema,
    action: 'org:read',
    scope: org,
    handler: async (ctx) => {
      const found = await getOrganization(ctx.deps.pg, ctx.scope.orgId);
      if (!found) throw new TenancyError('not_found', 'organization not found', { field: 'org' });
      return toOrg(found);
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/orgs/:org',
    summary: 'Rename an organization',
    tags,
    body: renameOrganizationSchema,
    response: orgSchema,
    action: 'org:update',
    scope: org,
    handler: async (ctx, { body }) => toOrg(await renameOrganization(ctx.deps.pg, ctx.actor, { orgId: ctx.scope.orgId, name: body.name })),
  }),
  defineRoute({
    method: 'get',
    path: '/orgs/:org/plan',
    summary: "The organization's plan: span quota and ingest rate limit",
    tags,
    response: planSchema,
    action: 'billing:read',
    scope: org,
    handler: async (ctx) => {
      const plan = await getPlan(ctx.deps.pg, ctx.scope.orgId);
      if (!plan) throw new TenancyError('not_found', 'the organization has no plan', { field: 'org' });
      return toPlan(plan);
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/orgs/:org/plan',
    summary: 'Change the plan and its limits (owner only); null removes a limit',
    tags,
    body: updatePlanSchema,
    response: planSchema,
    action: 'plan:update',
    scope: org,
    handler: async (ctx, { body }) => toPlan(await updatePlan(ctx.deps.pg, ctx.actor, { orgId: ctx.scope.orgId, ...body })),
  }),
];
