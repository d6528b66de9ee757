import { z } from 'zod';
import { createWorkspace, createWorkspaceSchema, deleteWorkspace, getWorkspace, listWorkspaces, TenancyError, updateWorkspace, updateWorkspaceSchema, type Workspace } from '@canopy/core';
import { defineRoute } from '../http/route.js';
import { iso, policyChanged, timestamp } from './common.js';

export const workspaceSchema = z.object({
  id: z.string(),
  orgId: z.string(),
  slug: z.string(),
  name: z.string(),
  retentionDays: z.number().int(),
  createdAt: timestamp,
});

const toWorkspace = (w: Workspace): z.input<typeof workspaceSchema> => ({ ...w, createdAt: iso(w.createdAt) });

const tags = ['workspaces'];
const org = (p: { org: string }) => ({ orgId: p.org });
const ws = (p: { org: string; ws: string }) => ({ orgId: p.org, workspaceId: p.ws });

export const workspaceRoutes = [
  defineRoute({
    method: 'get',
    path: '/orgs/:org/workspaces',
    summary: 'The workspaces of an organization the caller may see',
    description: 'Owners, admins and billing see every workspace; a member sees those where it holds a workspace role.',
    tags,
    response: z.object({ workspaces: z.array(workspaceSchema) }),
    action: 'org:read',
    scope: org,
    handler: async (ctx) => {
      const { orgId } = ctx.scope;
      const all = await listWorkspaces(ctx.deps.pg, orgId);
      return { workspaces: all.filter((w) => ctx.can('workspace:read', { orgId, workspaceId: w.id })).map(toWorkspace) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/orgs/:org/workspaces',
    summary: 'Create a workspace; its slug is unique within the organization',
    tags,
    body: createWorkspaceSchema,
    response: workspaceSchema,
    status: 201,
    action: 'workspace:create',
    scope: org,
    handler: async (ctx, { body }) => {
      const created = await createWorkspace(ctx.deps.pg, ctx.actor, { orgId: ctx.scope.orgId, ...body });
      await policyChanged(ctx);
      return toWorkspace(created);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/orgs/:org/workspaces/:ws',
    summary: 'A workspace',
    tags,
    response: workspaceSchema,
    action: 'workspace:read',
    scope: ws,
    handler: async (ctx) => {
      const found = await getWorkspace(ctx.deps.pg, ctx.scope.orgId, ctx.scope.workspaceId);
      if (!found) throw new TenancyError('not_found', 'workspace not found', { field: 'ws' });
      return toWorkspace(found);
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/orgs/:org/workspaces/:ws',
    summary: "Rename a workspace or change its retention",
    tags,
    body: updateWorkspaceSchema,
    response: workspaceSchema,
    action: 'workspace:update',
    scope: ws,
    handler: async (ctx, { body }) => toWorkspace(await updateWorkspace(ctx.deps.pg, ctx.actor, { ...ctx.scope, ...body })),
  }),
  defineRoute({
    method: 'delete',
    path: '/orgs/:org/workspaces/:ws',
    summary: 'Delete a workspace with its keys and workspace roles; its spans age out by retention',
    tags,
    response: workspaceSchema,
    action: 'workspace:delete',
    scope: ws,
    handler: async (ctx) => {
      const deleted = await deleteWorkspace(ctx.deps.pg, ctx.actor, ctx.scope);
      await policyChanged(ctx);
      return toWorkspace(deleted);
    },
  }),
];
