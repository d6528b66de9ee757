import { z } from 'zod';
import {
  addMember,
  emailSchema,
  idSchema,
  listMembers,
  orgRoleSchema,
  removeMember,
  setMemberRole,
  setMemberRoleSchema,
  workspaceRoleSchema,
  inviteMember,
  type Member,
} from '@canopy/core';
import { defineRoute, type RouteContext } from '../http/route.js';
import { iso, policyChanged, timestamp } from './common.js';
import { invitationSchema, toInvitation } from './invitations.js';

export const memberSchema = z.object({
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  role: orgRoleSchema,
  joinedAt: timestamp,
  workspaceRoles: z.array(z.object({ workspaceId: z.string(), workspaceSlug: z.string(), role: workspaceRoleSchema })),
});

export const toMember = (m: Member): z.input<typeof memberSchema> => ({
  userId: m.userId,
  email: m.email,
  name: m.name,
  role: m.role,
  joinedAt: iso(m.joinedAt),
  workspaceRoles: m.workspaceRoles.map((r) => ({ workspaceId: r.workspaceId, workspaceSlug: r.workspaceSlug, role: r.role })),
});

const addOrInviteSchema = z
  .object({
    email: emailSchema.optional().describe('invite this address: the answer holds an invitation token to pass on'),
    userId: idSchema.optional().describe('add this existing user at once'),
    role: orgRoleSchema,
  })
  .refine((b) => (b.email === undefined) !== (b.userId === undefined), { message: 'give exactly one of email (to invite) and userId (to add a user)', path: ['email'] });

const tags = ['members'];
const org = (p: { org: string }) => ({ orgId: p.org });

/** Granting, changing or taking away the owner role needs `owner:manage` on top of `member:*`. */
const ownerGuard = (ctx: RouteContext<{ orgId: string }>, next?: string) => (current: Member) => {
  if (current.role === 'owner' || next === 'owner') ctx.ensure('owner:manage');
};

export const memberRoutes = [
  defineRoute({
    method: 'get',
    path: '/orgs/:org/members',
    summary: 'Members with their org role and workspace roles',
    tags,
    response: z.object({ members: z.array(memberSchema) }),
    action: 'member:read',
    scope: org,
    handler: async (ctx) => ({ members: (await listMembers(ctx.deps.pg, ctx.scope.orgId)).map(toMember) }),
  }),
  defineRoute({
    method: 'post',
    path: '/orgs/:org/members',
    summary: 'Invite someone by email, or add an existing user by id',
    description: 'With `email`, answers `{ invitation, token }`: the token (shown once) is what the invitee accepts with. With `userId`, answers `{ member }`. Granting `owner` needs `owner:manage`.',
    tags,
    body: addOrInviteSchema,
    response: z.union([z.object({ member: memberSchema }), z.object({ invitation: invitationSchema, token: z.string() })]),
    status: 201,
    action: 'member:invite',
    scope: org,
    handler: async (ctx, { body }) => {
      const { orgId } = ctx.scope;
      if (body.role === 'owner') ctx.ensure('owner:manage');
      if (body.userId !== undefined) {
        const member = await addMember(ctx.deps.pg, ctx.actor, { orgId, userId: body.userId, role: body.role });
        await policyChanged(ctx);
        return { member: toMember(member) };
      }
      const { invitation, token } = await inviteMember(ctx.deps.pg, ctx.actor, { orgId, email: body.email!, role: body.role });
      return { invitation: toInvitation(invitation), token };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/orgs/:org/members/:userId',
    summary: "Change a member's org role; the last owner cannot be demoted (409 last_owner)",
    tags,
    body: setMemberRoleSchema,
    response: memberSchema,
    action: 'member:update',
    scope: org,
    handler: async (ctx, { params, body }) => {
      const { orgId } = ctx.scope;
      const member = await setMemberRole(ctx.deps.pg, ctx.actor, { orgId, userId: params.userId, role: body.role, check: ownerGuard(ctx, body.role) });
      await policyChanged(ctx);
      return toMember(member);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/orgs/:org/members/:userId',
    summary: 'Remove a member and its workspace roles; never the last owner (409 last_owner)',
    tags,
    response: memberSchema,
    action: 'member:remove',
    scope: org,
    handler: async (ctx, { params }) => {
      const removed = await removeMember(ctx.deps.pg, ctx.actor, { orgId: ctx.scope.orgId, userId: params.userId, check: ownerGuard(ctx) });
      await policyChanged(ctx);
      return toMember(removed);
    },
  }),
];
