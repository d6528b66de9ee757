import type { Actor, ApiKeyScope } from '@canopy/core';
import type { Subject } from '@canopy/policies';

/** A person, through a personal access token. */
export interface UserPrincipal {
  type: 'user';
  id: string;
  tokenId: string;
}

/** An API key: one workspace's ingest/read key, or an org's usage key (`workspaceId` null). */
export interface ApiKeyPrincipal {
  type: 'api_key';
  id: string;
  orgId: string;
  workspaceId: string | null;
  scopes: readonly ApiKeyScope[];
}

/** Who a request comes from, once its bearer token is resolved. */
export type Principal = UserPrincipal | ApiKeyPrincipal;

export function subjectOf(principal: Principal): Subject {
  return { type: principal.type, id: principal.id };
}

/**
 * The principal as the audit log records it. An IPv4 address seen on a dual-stack socket
 * (`::ffff:203.0.113.7`) is recorded in its IPv4 form.
 */
export function actorOf(principal: Principal, ip: string | undefined): Actor {
  const source = ip?.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip;
  return { type: principal.type, id: principal.id, ip: source ?? null };
}
