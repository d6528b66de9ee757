import { z } from 'zod';
import { acceptInvitation, listInvitations, orgRoleSchema, revokeInvitation, type Invitation } from '@canopy/core';
import { defineRoute } from '../http/route.js';
import { iso, isoOrNull, policyChanged, timestamp } from './common.js';

export const invitationSchema = z.object({
  id: z.string(),
  orgId: z.string(),
  email: z.string(),
  role: orgRoleSchema,
  invitedBy: z.string().nullable(),
  createdAt: timestamp,
  expiresAt: timestamp,
  acceptedAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
});

export const toInvitation = (i: Invitation): z.input<typeof invitationSchema> => ({
  id: i.id,
  orgId: i.orgId,
  email: i.email,
  role: i.role,
  invitedBy: i.invitedBy,
  createdAt: iso(i.createdAt),
  expiresAt: iso(i.expiresAt),
  acceptedAt: isoOrNull(i.acceptedAt),
  revokedAt: isoOrNull(i.revokedAt),
});

const tags = ['members'];
const org = (p: { org: string }) => ({ orgId: p.org });

export const invitationRoutes = [
  defineRoute({
    method: 'get',
    path: '/orgs/:org/invitations',
    summary: 'Invitations that can still be accepted',
    tags,
    response: z.object({ invitations: z.array(invitationSchema) }),
    action: 'member:read',
    scope: org,
    handler: async (ctx) => ({ invitations: (await listInvitations(ctx.deps.pg, ctx.scope.orgId)).map(toInvitation) }),
  }),
  defineRoute({
    method: 'delete',
    path: '/orgs/:org/invitations/:id',
    summary: 'Withdraw a pending invitation',
    tags,
    response: invitationSchema,
    action: 'member:invite',
    scope: org,
    handler: async (ctx, { params }) => toInvitation(await revokeInvitation(ctx.deps.pg, ctx.actor, { orgId: ctx.scope.orgId, invitationId: params.id })),
  }),
  defineRoute({
    method: 'post',
    path: '/invitations/accept',
    summary: 'Accept an invitation: the caller joins the organization with the invited role',
    description: 'Unknown token: 404. Used, withdrawn or expired: 410. Already a member: 409.',
    tags,
    body: z.object({ token: z.string().min(1).max(200) }),
    response: z.object({ orgId: z.string(), role: orgRoleSchema }),
    action: null,
    principal: 'user',
    handler: async (ctx, { body }) => {
      const { invitation, member } = await acceptInvitation(ctx.deps.pg, ctx.actor, { token: body.token });
      await policyChanged(ctx);
      return { orgId: invitation.orgId, role: member.role };
    },
  }),
];
