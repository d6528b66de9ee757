import { z } from 'zod';
import {
  API_KEY_SCOPES,
  createOrgUsageKey,
  createOrgUsageKeySchema,
  createWorkspaceKey,
  createWorkspaceKeySchema,
  listKeys,
  revokeKey,
  type ApiKeyInfo,
  type CreatedApiKey,
} from '@canopy/core';
import { defineRoute } from '../http/route.js';
import { iso, isoOrNull, policyChanged, timestamp } from './common.js';

const scopesSchema = z.array(z.enum(API_KEY_SCOPES));

/** A key as listed: never its secret or hash. */
export const apiKeySchema = z.object({
  id: z.string(),
  orgId: z.string(),
  workspaceId: z.string().nullable(),
  name: z.string(),
  prefix: z.string().describe('the first characters of the secret, to tell keys apart'),
  scopes: scopesSchema,
  createdBy: z.string().nullable(),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  expiresAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
});

/** The answer to creating a key: the only time its secret is shown. */
export const createdKeySchema = z.object({ id: z.string(), key: z.string().describe('the secret; shown only now'), prefix: z.string(), scopes: scopesSchema });

const toKey = (k: ApiKeyInfo): z.input<typeof apiKeySchema> => ({
  id: k.id,
  orgId: k.orgId,
  workspaceId: k.workspaceId,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  createdBy: k.createdBy,
  createdAt: iso(k.createdAt),
  lastUsedAt: isoOrNull(k.lastUsedAt),
  expiresAt: isoOrNull(k.expiresAt),
  revokedAt: isoOrNull(k.revokedAt),
});
const toCreated = (k: CreatedApiKey): z.input<typeof createdKeySchema> => ({ id: k.id, key: k.key, prefix: k.prefix, scopes: k.scopes });

const tags = ['api keys'];
const ws = (p: { ws: string }) => ({ workspaceId: p.ws });
const org = (p: { org: string }) => ({ orgId: p.org });
const keyList = z.object({ keys: z.array(apiKeySchema) });

export const keyRoutes = [
  defineRoute({
    method: 'get',
    path: '/workspaces/:ws/keys',
    summary: "The workspace's API keys, revoked ones included",
    tags,
    response: keyList,
    action: 'key:read',
    scope: ws,
    handler: async (ctx) => ({ keys: (await listKeys(ctx.deps.pg, ctx.scope.orgId, ctx.scope.workspaceId)).map(toKey) }),
  }),
  defineRoute({
    method: 'post',
    path: '/workspaces/:ws/keys',
    summary: 'Create an ingest and/or read key for the workspace',
    tags,
    body: createWorkspaceKeySchema,
    response: createdKeySchema,
    status: 201,
    action: 'key:create',
    scope: ws,
    handler: async (ctx, { body }) => {
      const created = await createWorkspaceKey(ctx.deps.pg, ctx.actor, { ...ctx.scope, ...body });
      await policyChanged(ctx);
      return toCreated(created);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/workspaces/:ws/keys/:id',
    summary: 'Revoke a workspace key; collectors and query APIs refuse it within a second',
    tags,
    response: apiKeySchema,
    action: 'key:revoke',
    scope: ws,
    handler: async (ctx, { params }) => {
      const revoked = await revokeKey(ctx.deps.pg, ctx.actor, { ...ctx.scope, keyId: params.id });
      await policyChanged(ctx);
      return toKey(revoked);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/orgs/:org/keys',
    summary: "The organization's usage keys (finance exports), revoked ones included",
    tags,
    response: keyList,
    action: 'key:read',
    scope: org,
    handler: async (ctx) => ({ keys: (await listKeys(ctx.deps.pg, ctx.scope.orgId, null)).map(toKey) }),
  }),
  defineRoute({
    method: 'post',
    path: '/orgs/:org/keys',
    summary: 'Create an org key with the usage scope',
    tags,
    body: createOrgUsageKeySchema,
    response: createdKeySchema,
    status: 201,
    action: 'key:create',
    scope: org,
    handler: async (ctx, { body }) => {
      const created = await createOrgUsageKey(ctx.deps.pg, ctx.actor, { orgId: ctx.scope.orgId, ...body });
      await policyChanged(ctx);
      return toCreated(created);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/orgs/:org/keys/:id',
    summary: 'Revoke an org usage key',
    tags,
    response: apiKeySchema,
    action: 'key:revoke',
    scope: org,
    handler: async (ctx, { params }) => {
      const revoked = await revokeKey(ctx.deps.pg, ctx.actor, { orgId: ctx.scope.orgId, workspaceId: null, keyId: params.id });
      await policyChanged(ctx);
      return toKey(revoked);
    },
  }),
];
