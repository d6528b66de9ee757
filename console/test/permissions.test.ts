import { describe, expect, it } from 'vitest';
import { ROLE_TABLE } from '@canopy/policies';
import {
  assignableOrgRoles,
  buildAccess,
  can,
  canManageMember,
  keyAbilities,
  landingPage,
  visibleSections,
  workspaceRoleFromProbes,
  workspaceRolesFromMembers,
  type Access,
} from '../src/permissions/access';
import { ORG_ROLE_ACTIONS, WORKSPACE_ROLE_ACTIONS } from '../src/permissions/role-table';
import type { Member } from '../src/api/types';

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe('the console’s copy of the role table', () => {
  it('grants exactly what policies/src/role-table.ts grants, role by role', () => {
    for (const [role, actions] of Object.entries(ORG_ROLE_ACTIONS)) {
      expect(sorted(actions), `org:${role}`).toEqual(sorted(ROLE_TABLE[`org:${role}` as keyof typeof ROLE_TABLE].actions));
    }
    for (const [role, actions] of Object.entries(WORKSPACE_ROLE_ACTIONS)) {
      expect(sorted(actions), `ws:${role}`).toEqual(sorted(ROLE_TABLE[`ws:${role}` as keyof typeof ROLE_TABLE].actions));
    }
    const personRoles = Object.keys(ROLE_TABLE).filter((r) => r.startsWith('org:') || r.startsWith('ws:'));
    expect(personRoles.length).toBe(Object.keys(ORG_ROLE_ACTIONS).length + Object.keys(WORKSPACE_ROLE_ACTIONS).length);
  });
});

const orgWide = (orgRole: Access['orgRole']): Access => ({ orgRole, workspaceRoles: {} });
const member = (roles: Access['workspaceRoles']): Access => ({ orgRole: 'member', workspaceRoles: roles });

describe('what the console offers each role', () => {
  const all = { workspace: ['traces', 'analytics', 'keys'], org: ['usage', 'workspaces', 'members', 'audit'] };
  const table: Array<{ who: string; access: Access; ws: string; offered: { workspace: string[]; org: string[] } }> = [
    { who: 'owner', access: orgWide('owner'), ws: 'w1', offered: all },
    { who: 'admin', access: orgWide('admin'), ws: 'w1', offered: all },
    { who: 'billing (usage, never trace content)', access: orgWide('billing'), ws: 'w1', offered: { workspace: [], org: ['usage', 'workspaces'] } },
    { who: 'workspace admin', access: member({ w1: 'admin' }), ws: 'w1', offered: { workspace: ['traces', 'analytics', 'keys'], org: ['workspaces'] } },
    { who: 'developer', access: member({ w1: 'developer' }), ws: 'w1', offered: { workspace: ['traces', 'analytics', 'keys'], org: ['workspaces'] } },
    { who: 'viewer (no key management)', access: member({ w1: 'viewer' }), ws: 'w1', offered: { workspace: ['traces', 'analytics'], org: ['workspaces'] } },
    { who: 'viewer, in a workspace where it holds no role', access: member({ w1: 'viewer' }), ws: 'w2', offered: { workspace: [], org: ['workspaces'] } },
  ];
  it.each(table)('$who', ({ access, ws, offered }) => {
    expect(visibleSections(access, ws)).toEqual(offered);
  });

  it('lets a developer create keys but not revoke them, a workspace admin both, a viewer neither', () => {
    expect(keyAbilities(member({ w1: 'developer' }), 'w1')).toEqual({ read: true, create: true, revoke: false });
    expect(keyAbilities(member({ w1: 'admin' }), 'w1')).toEqual({ read: true, create: true, revoke: true });
    expect(keyAbilities(member({ w1: 'viewer' }), 'w1')).toEqual({ read: false, create: false, revoke: false });
    expect(keyAbilities(orgWide('billing'), 'w1')).toEqual({ read: false, create: false, revoke: false });
  });

  it('offers the owner role, and changes to owners, only to owners', () => {
    expect(assignableOrgRoles(orgWide('owner'))).toEqual(['owner', 'admin', 'billing', 'member']);
    expect(assignableOrgRoles(orgWide('admin'))).toEqual(['admin', 'billing', 'member']);
    expect(assignableOrgRoles(orgWide('billing'))).toEqual([]);
    expect(canManageMember(orgWide('admin'), 'owner')).toEqual({ update: false, remove: false });
    expect(canManageMember(orgWide('admin'), 'member')).toEqual({ update: true, remove: true });
    expect(canManageMember(orgWide('owner'), 'owner')).toEqual({ update: true, remove: true });
  });

  it('keeps a workspace role inside its workspace', () => {
    const a = member({ w1: 'admin' });
    expect(can(a, 'key:revoke', 'w1')).toBe(true);
    expect(can(a, 'key:revoke', 'w2')).toBe(false);
    expect(can(a, 'key:revoke')).toBe(false);
  });
});

describe('finding out workspace roles', () => {
  it('reads the signed-in person’s roles from the member list', () => {
    const members: Member[] = [
      { userId: 'u1', email: 'a@x', name: 'A', role: 'member', joinedAt: '', workspaceRoles: [{ workspaceId: 'w1', workspaceSlug: 'dev', role: 'developer' }] },
      { userId: 'u2', email: 'b@x', name: 'B', role: 'member', workspaceRoles: [{ workspaceId: 'w1', workspaceSlug: 'dev', role: 'admin' }], joinedAt: '' },
    ];
    expect(workspaceRolesFromMembers(members, 'u1')).toEqual({ w1: 'developer' });
    expect(workspaceRolesFromMembers(members, 'nobody')).toEqual({});
  });

  it('tells admin, developer and viewer apart by what the API allows', () => {
    expect(workspaceRoleFromProbes({ members: 200, keys: 200 })).toBe('admin');
    expect(workspaceRoleFromProbes({ members: 403, keys: 200 })).toBe('developer');
    expect(workspaceRoleFromProbes({ members: 403, keys: 403 })).toBe('viewer');
    expect(workspaceRoleFromProbes({ members: 0, keys: 0 })).toBe('viewer');
  });

  it('counts every workspace a plain member can list as at least viewer', () => {
    expect(buildAccess({ orgRole: 'member', visibleWorkspaceIds: ['w1', 'w2'], known: { w2: 'admin' } })).toEqual({ orgRole: 'member', workspaceRoles: { w1: 'viewer', w2: 'admin' } });
    expect(buildAccess({ orgRole: 'billing', visibleWorkspaceIds: ['w1'], known: {} }).workspaceRoles).toEqual({});
  });

  it('lands billing on usage and everyone who reads traces on the first readable workspace', () => {
    expect(landingPage(orgWide('billing'), ['w1'])).toEqual({ page: 'usage' });
    expect(landingPage(orgWide('owner'), ['w1', 'w2'])).toEqual({ page: 'traces', workspaceId: 'w1' });
    expect(landingPage(member({ w2: 'viewer' }), ['w1', 'w2'])).toEqual({ page: 'traces', workspaceId: 'w2' });
    expect(landingPage(member({}), [])).toEqual({ page: 'workspaces' });
  });
});
