import type { Member, OrgRole, WorkspaceRole } from '../api/types';
import { ORG_ROLE_ACTIONS, WORKSPACE_ROLE_ACTIONS, type Action } from './role-table';

/**
 * What the signed-in person holds in one organization: the org role (from `GET /orgs`)
 * and the workspace roles known so far (from the member list, or found out by probing).
 */
export interface Access {
  orgRole: OrgRole;
  workspaceRoles: Readonly<Record<string, WorkspaceRole>>;
}

/**
 * Whether the person may do `action` in the organization, or in one workspace of it. The
 * same rule as the policy: an org role covers every workspace, a workspace role only its own.
 */
export function can(access: Access, action: Action, workspaceId?: string): boolean {
  if (ORG_ROLE_ACTIONS[access.orgRole].includes(action)) return true;
  if (workspaceId === undefined) return false;
  const wsRole = access.workspaceRoles[workspaceId];
  return wsRole !== undefined && WORKSPACE_ROLE_ACTIONS[wsRole].includes(action);
}

/** The person's workspace roles, read from the org's member list (which owners and admins may read). */
export function workspaceRolesFromMembers(members: readonly Member[], userId: string): Record<string, WorkspaceRole> {
  const me = members.find((m) => m.userId === userId);
  return Object.fromEntries((me?.workspaceRoles ?? []).map((r) => [r.workspaceId, r.role]));
}

/** What a probe request answered: its HTTP status (0 when it did not complete). */
export interface WorkspaceProbes {
  /** `GET /workspaces/:ws/members`: only a workspace admin (or org owner/admin) may */
  members: number;
  /** `GET /workspaces/:ws/keys`: workspace admins and developers may, viewers may not */
  keys: number;
}

/**
 * A plain org `member` may not read the member list, so its role in a workspace it can see
 * is found from what the API lets it do there: manage members → admin, read keys →
 * developer, else viewer (seeing a workspace at all takes a workspace role).
 */
export function workspaceRoleFromProbes(probes: WorkspaceProbes): WorkspaceRole {
  if (probes.members >= 200 && probes.members < 300) return 'admin';
  if (probes.keys >= 200 && probes.keys < 300) return 'developer';
  return 'viewer';
}

/** Whether the org role already decides everything in every workspace, so no probing is needed. */
export function orgRoleCoversWorkspaces(orgRole: OrgRole): boolean {
  return orgRole === 'owner' || orgRole === 'admin' || orgRole === 'billing';
}

export type WorkspaceSection = 'traces' | 'analytics' | 'keys';
export type OrgSection = 'usage' | 'workspaces' | 'members' | 'audit';
export type Section = WorkspaceSection | OrgSection;

/** The action that opens each page of the console. */
export const SECTION_ACTION: Readonly<Record<Section, Action>> = {
  traces: 'trace:read',
  analytics: 'analytics:read',
  keys: 'key:read',
  usage: 'usage:read',
  workspaces: 'org:read',
  members: 'member:read',
  audit: 'audit:read',
};

const WORKSPACE_SECTIONS: readonly WorkspaceSection[] = ['traces', 'analytics', 'keys'];
const ORG_SECTIONS: readonly OrgSection[] = ['usage', 'workspaces', 'members', 'audit'];

/** The pages to offer in the navigation: only those the person may use. */
export function visibleSections(access: Access, workspaceId?: string): { workspace: WorkspaceSection[]; org: OrgSection[] } {
  return {
    workspace: workspaceId === undefined ? [] : WORKSPACE_SECTIONS.filter((s) => can(access, SECTION_ACTION[s], workspaceId)),
    org: ORG_SECTIONS.filter((s) => can(access, SECTION_ACTION[s])),
  };
}

/** What the key page may offer beyond the list. */
export function keyAbilities(access: Access, workspaceId: string): { read: boolean; create: boolean; revoke: boolean } {
  return { read: can(access, 'key:read', workspaceId), create: can(access, 'key:create', workspaceId), revoke: can(access, 'key:revoke', workspaceId) };
}

/** Org roles this person may hand out (or take away) on the member page. */
export function assignableOrgRoles(access: Access): OrgRole[] {
  if (!can(access, 'member:update') && !can(access, 'member:invite')) return [];
  const roles: OrgRole[] = ['admin', 'billing', 'member'];
  return can(access, 'owner:manage') ? ['owner', ...roles] : roles;
}

/** Whether this person may change or remove a member who holds `targetRole`. */
export function canManageMember(access: Access, targetRole: OrgRole): { update: boolean; remove: boolean } {
  const ownerOk = targetRole !== 'owner' || can(access, 'owner:manage');
  return { update: can(access, 'member:update') && ownerOk, remove: can(access, 'member:remove') && ownerOk };
}

/**
 * The first page worth opening in an organization: the first workspace's traces when the
 * person may read traces there, else usage (billing), else the workspace list.
 */
export function landingPage(access: Access, workspaceIds: readonly string[]): { page: 'traces'; workspaceId: string } | { page: 'usage' } | { page: 'workspaces' } {
  const ws = workspaceIds.find((id) => can(access, 'trace:read', id));
  if (ws !== undefined) return { page: 'traces', workspaceId: ws };
  if (can(access, 'usage:read')) return { page: 'usage' };
  return { page: 'workspaces' };
}

/**
 * The access to decide with. A plain member sees only workspaces where it holds a role, so
 * every workspace it can list counts as at least `viewer` until a probe or the member list
 * says more.
 */
export function buildAccess(input: { orgRole: OrgRole; visibleWorkspaceIds: readonly string[]; known: Readonly<Record<string, WorkspaceRole>> }): Access {
  const workspaceRoles: Record<string, WorkspaceRole> = {};
  if (input.orgRole === 'member') for (const id of input.visibleWorkspaceIds) workspaceRoles[id] = 'viewer';
  Object.assign(workspaceRoles, input.known);
  return { orgRole: input.orgRole, workspaceRoles };
}
