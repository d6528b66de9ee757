import type { ApiKeyScope } from '@canopy/core';
import type { Action } from './actions.js';
import type { OrgRole, WorkspaceRole } from './roles.js';

/**
 * The role → action table: who may do what. Reviewed like code, because it is the
 * policy. Each role is held in one kind of domain:
 * - `org`: the grant covers the organization and every workspace that belongs to it;
 * - `ws`: the grant covers that one workspace (and never the org as a whole).
 * Names are `org:<org role>`, `ws:<workspace role>`, `scope:<API key scope>`.
 */
export type RoleName = `org:${OrgRole}` | `ws:${WorkspaceRole}` | `scope:${ApiKeyScope}`;
export type RoleLevel = 'org' | 'ws';

export interface RoleGrant {
  readonly level: RoleLevel;
  readonly actions: readonly Action[];
}

/** What an org admin may do; the owner has all of it and three things more. */
const ADMIN_ACTIONS = [
  'org:read',
  'org:update',
  'price:update',
  'workspace:create',
  'workspace:read',
  'workspace:update',
  'workspace:delete',
  'member:read',
  'member:invite',
  'member:update',
  'member:remove',
  'workspace_member:manage',
  'key:read',
  'key:create',
  'key:revoke',
  'audit:read',
  'usage:read',
  'billing:read',
  'ingest_ledger:read',
  'trace:read',
  'analytics:read',
  'deadletter:manage',
] as const satisfies readonly Action[];

export const ROLE_TABLE = {
  // The account holder. Everything an admin does, plus the three acts that can end or
  // take over the organization: deleting it, changing its plan, and granting or taking
  // away the owner role (`owner:manage`: a caller changing, inviting or removing an owner
  // needs it on top of `member:*`, so an admin cannot promote itself). No `span:ingest`:
  // spans arrive with API keys, never with a person's token.
  'org:owner': { level: 'org', actions: [...ADMIN_ACTIONS, 'org:delete', 'plan:update', 'owner:manage'] },

  // Runs the organization day to day: workspaces, members, keys, audit, and reading the
  // traces of every workspace of the org (DESIGN: owner/admin act on every workspace).
  'org:admin': { level: 'org', actions: ADMIN_ACTIONS },

  // Finance. Reads usage and invoices for the whole org and the workspace names the
  // usage rows are grouped by, and nothing else: no `trace:read`, no `analytics:read`
  // (analytics run over span content, which may hold prompts and personal data), no
  // audit log, no member list.
  'org:billing': { level: 'org', actions: ['org:read', 'workspace:read', 'usage:read', 'billing:read'] },

  // Belongs to the org and can see its name; every workspace right comes from a
  // workspace role (DESIGN: a member sees only workspaces where it holds one).
  'org:member': { level: 'org', actions: ['org:read'] },

  // Looks after one workspace: its settings, its members and its keys, reads its traces,
  // and answers for its ingest: the ledger, and the dead letters it may inspect (they hold
  // span content), replay or discard.
  'ws:admin': {
    level: 'ws',
    actions: [
      'workspace:read',
      'workspace:update',
      'workspace_member:manage',
      'key:read',
      'key:create',
      'key:revoke',
      'trace:read',
      'analytics:read',
      'ingest_ledger:read',
      'deadletter:manage',
    ],
  },

  // Builds on the workspace: reads its traces and analytics and may create keys to
  // instrument services (a workspace key can only carry ingest/read, both within what a
  // developer already has, so creating one is no escalation). Revoking is left to the
  // workspace admin, because revoking a key others' services use is an outage.
  'ws:developer': { level: 'ws', actions: ['workspace:read', 'key:read', 'key:create', 'trace:read', 'analytics:read', 'ingest_ledger:read'] },

  // Reads the workspace's traces, analytics and ingest ledger; changes nothing.
  'ws:viewer': { level: 'ws', actions: ['workspace:read', 'trace:read', 'analytics:read', 'ingest_ledger:read'] },

  // A workspace key that sends spans into its workspace.
  'scope:ingest': { level: 'ws', actions: ['span:ingest'] },

  // A workspace key that reads its workspace's traces (dashboards, scripts).
  'scope:read': { level: 'ws', actions: ['workspace:read', 'trace:read', 'analytics:read'] },

  // An org key for finance tooling: usage and invoices for the whole org, nothing else.
  // Only held at org level: a workspace key carrying `usage` gets nothing from it.
  'scope:usage': { level: 'org', actions: ['usage:read', 'billing:read'] },
} as const satisfies Record<RoleName, RoleGrant>;

export const ROLE_NAMES = Object.keys(ROLE_TABLE) as RoleName[];

export function isRoleName(value: string): value is RoleName {
  return Object.hasOwn(ROLE_TABLE, value);
}

export function roleGrant(role: RoleName): RoleGrant {
  return ROLE_TABLE[role];
}

/** Roles whose grant includes `action`. */
export function rolesGranting(action: Action): RoleName[] {
  return ROLE_NAMES.filter((role) => (ROLE_TABLE[role].actions as readonly Action[]).includes(action));
}
