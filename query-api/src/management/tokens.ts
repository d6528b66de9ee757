import { z } from 'zod';
import {
  createPersonalToken,
  createPersonalTokenSchema,
  getUser,
  listOrganizationsForUser,
  listPersonalTokens,
  revokePersonalToken,
  TenancyError,
  type PersonalTokenInfo,
} from '@canopy/core';
import { defineRoute } from '../http/route.js';
import { iso, isoOrNull, timestamp } from './common.js';
import { myOrgSchema, toOrg } from './orgs.js';

export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  expiresAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
});

const meSchema = z.object({ id: z.string(), email: z.string(), name: z.string(), createdAt: timestamp, orgs: z.array(myOrgSchema) });

const toToken = (t: PersonalTokenInfo): z.input<typeof tokenSchema> => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  createdAt: iso(t.createdAt),
  lastUsedAt: isoOrNull(t.lastUsedAt),
  expiresAt: isoOrNull(t.expiresAt),
  revokedAt: isoOrNull(t.revokedAt),
});

const tags = ['me'];

// A person's own things: reachable with a personal token only, never with an API key.
export const tokenRoutes = [
  defineRoute({
    method: 'get',
    path: '/me',
    summary: 'The calling user and its organizations',
    tags,
    response: meSchema,
    action: null,
    principal: 'user',
    handler: async (ctx) => {
      const user = await getUser(ctx.deps.pg, ctx.principal.id);
      if (!user) throw new TenancyError('not_found', 'user not found');
      const orgs = await listOrganizationsForUser(ctx.deps.pg, user.id);
      return { id: user.id, email: user.email, name: user.name, createdAt: iso(user.createdAt), orgs: orgs.map((o) => ({ ...toOrg(o), role: o.role })) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/me/tokens',
    summary: "The caller's personal access tokens, revoked and expired ones included",
    tags,
    response: z.object({ tokens: z.array(tokenSchema) }),
    action: null,
    principal: 'user',
    handler: async (ctx) => ({ tokens: (await listPersonalTokens(ctx.deps.pg, ctx.principal.id)).map(toToken) }),
  }),
  defineRoute({
    method: 'post',
    path: '/me/tokens',
    summary: 'Create a personal access token; the answer is the only time it is shown',
    tags,
    body: createPersonalTokenSchema,
    response: z.object({ id: z.string(), token: z.string().describe('the secret; shown only now'), prefix: z.string() }),
    status: 201,
    action: null,
    principal: 'user',
    handler: async (ctx, { body }) => createPersonalToken(ctx.deps.pg, ctx.actor, { userId: ctx.principal.id, ...body }),
  }),
  defineRoute({
    method: 'delete',
    path: '/me/tokens/:id',
    summary: 'Revoke one of your personal access tokens',
    tags,
    response: tokenSchema,
    action: null,
    principal: 'user',
    handler: async (ctx, { params }) => toToken(await revokePersonalToken(ctx.deps.pg, ctx.actor, { userId: ctx.principal.id, tokenId: params.id })),
  }),
];
