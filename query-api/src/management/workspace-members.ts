import { z } from 'zod';
import { listWorkspaceMembers, orgRoleSchema, removeWorkspaceMember, setWorkspaceMember, setWorkspaceMemberSchema, workspaceRoleSchema, type WorkspaceMember } from '@canopy/core';
import { defineRoute } from '../http/route.js';
import { iso, policyChanged, timestamp } from './common.js';

export const workspaceMemberSchema = z.object({
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  role: workspaceRoleSchema,
  orgRole: orgRoleSchema,
  createdAt: timestamp,
});

const toWorkspaceMember = (m: WorkspaceMember): z.input<typeof workspaceMemberSchema> => ({
  userId: m.userId,
  email: m.email,
  name: m.name,
  role: m.role,
  orgRole: m.orgRole,
  createdAt: iso(m.createdAt),
});

const tags = ['workspace members'];
const ws = (p: { ws: string }) => ({ workspaceId: p.ws });

// Listing is for those who manage the workspace's members: the list holds people's emails.
export const workspaceMemberRoutes = [
  defineRoute({
    method: 'get',
    path: '/workspaces/:ws/members',
    summary: 'Users holding a role in the workspace',
    tags,
    response: z.object({ members: z.array(workspaceMemberSchema) }),
    action: 'workspace_member:manage',
    scope: ws,
    handler: async (ctx) => ({ members: (await listWorkspaceMembers(ctx.deps.pg, ctx.scope.orgId, ctx.scope.workspaceId)).map(toWorkspaceMember) }),
  }),
  defineRoute({
    method: 'put',
    path: '/workspaces/:ws/members/:userId',
    summary: "Give an org member a role in the workspace, or change it",
    tags,
    body: setWorkspaceMemberSchema,
    response: workspaceMemberSchema,
    action: 'workspace_member:manage',
    scope: ws,
    handler: async (ctx, { params, body }) => {
      const member = await setWorkspaceMember(ctx.deps.pg, ctx.actor, { ...ctx.scope, userId: params.userId, role: body.role });
      await policyChanged(ctx);
      return toWorkspaceMember(member);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/workspaces/:ws/members/:userId',
    summary: "Take a user's role in the workspace away",
    tags,
    status: 204,
    action: 'workspace_member:manage',
    scope: ws,
    handler: async (ctx, { params }) => {
      await removeWorkspaceMember(ctx.deps.pg, ctx.actor, { ...ctx.scope, userId: params.userId });
      await policyChanged(ctx);
    },
  }),
];
