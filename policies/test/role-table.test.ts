import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  CASBIN_MODEL,
  ROLE_NAMES,
  ROLE_TABLE,
  createStaticPolicy,
  rolesGranting,
  type Action,
  type RoleName,
  type Scope,
  type Subject,
  type TenantFact,
} from '@canopy/policies';
import { mismatches, type Grant } from './expected.js';

// Two orgs: o1 owns w1 and w2, o2 owns w3.
const workspaceOrg = new Map([
  ['w1', 'o1'],
  ['w2', 'o1'],
  ['w3', 'o2'],
]);
const workspaceFacts: TenantFact[] = [...workspaceOrg].map(([workspaceId, orgId]) => ({ kind: 'workspace', workspaceId, orgId }));

/** The role's natural home: org roles and usage keys in o1, workspace roles and workspace keys in w1. */
function holdRole(role: RoleName): { subject: Subject; fact: TenantFact; grant: Grant } {
  const [kind, name] = role.split(':') as [string, string];
  const grant: Grant = ROLE_TABLE[role].level === 'org' ? { role, held: { orgId: 'o1' } } : { role, held: { workspaceId: 'w1' } };
  if (kind === 'org') return { subject: { type: 'user', id: `u-${name}` }, fact: { kind: 'org_role', userId: `u-${name}`, orgId: 'o1', role: name as never }, grant };
  if (kind === 'ws') return { subject: { type: 'user', id: `u-ws-${name}` }, fact: { kind: 'workspace_role', userId: `u-ws-${name}`, workspaceId: 'w1', role: name as never }, grant };
  const workspaceId = ROLE_TABLE[role].level === 'org' ? null : 'w1';
  return { subject: { type: 'api_key', id: `k-${name}` }, fact: { kind: 'key_scope', keyId: `k-${name}`, orgId: 'o1', workspaceId, scope: name as never }, grant };
}

const holders = ROLE_NAMES.map(holdRole);

const SCOPES: [string, Scope][] = [
  ['its org', { orgId: 'o1' }],
  ['its workspace', { orgId: 'o1', workspaceId: 'w1' }],
  ['another workspace of its org', { orgId: 'o1', workspaceId: 'w2' }],
  ['another org', { orgId: 'o2' }],
  ["another org's workspace", { orgId: 'o2', workspaceId: 'w3' }],
  ["another org's workspace under its own org id", { orgId: 'o1', workspaceId: 'w3' }],
  ['its workspace under another org id', { orgId: 'o2', workspaceId: 'w1' }],
  ['an unknown workspace', { orgId: 'o1', workspaceId: 'nope' }],
  ['an unknown org', { orgId: 'nope' }],
];

describe('the role table', () => {
  it('keeps trace content away from billing', () => {
    const billing: readonly Action[] = ROLE_TABLE['org:billing'].actions;
    expect(billing).not.toContain('trace:read');
    expect(billing).not.toContain('analytics:read');
    expect(billing).not.toContain('deadletter:manage');
    expect([...billing].sort()).toEqual(['billing:read', 'org:read', 'usage:read', 'workspace:read']);
  });

  it('gives the owner every action but ingest, and the admin all of that except the three owner acts', () => {
    const owner: readonly Action[] = ROLE_TABLE['org:owner'].actions;
    const admin: readonly Action[] = ROLE_TABLE['org:admin'].actions;
    expect([...owner].sort()).toEqual(ACTIONS.filter((a) => a !== 'span:ingest').sort());
    expect(ACTIONS.filter((a) => owner.includes(a) && !admin.includes(a)).sort()).toEqual(['org:delete', 'owner:manage', 'plan:update']);
    expect(admin.every((a) => owner.includes(a))).toBe(true);
  });

  it('lets a plain member read the org name and nothing more', () => {
    expect(ROLE_TABLE['org:member'].actions).toEqual(['org:read']);
  });

  it('lets only ingest keys ingest', () => {
    expect(rolesGranting('span:ingest')).toEqual(['scope:ingest']);
  });

  it('grants every action to someone and lists no action twice for a role', () => {
    for (const action of ACTIONS) expect(rolesGranting(action).length, action).toBeGreaterThan(0);
    for (const role of ROLE_NAMES) expect(new Set(ROLE_TABLE[role].actions).size, role).toBe(ROLE_TABLE[role].actions.length);
  });

  it('keeps role names and action names apart', () => {
    const actions: ReadonlySet<string> = new Set(ACTIONS);
    expect(ROLE_NAMES.filter((r) => actions.has(r))).toEqual([]);
  });

  it('is one model with domains, tenants as grouping rows', () => {
    expect(CASBIN_MODEL).toContain('g = _, _, _');
    expect(CASBIN_MODEL).toContain('g2(r.ws, r.org)');
  });
});

describe.each([
  ['with the decision memo', 100_000],
  ['straight through Casbin', 0],
])('a static policy %s', (_label, memoEntries) => {
  const policyPromise = createStaticPolicy([...workspaceFacts, ...holders.map((h) => h.fact)], { memoEntries });

  describe.each(holders.map((h) => [h.grant.role, h] as const))('a subject holding %s', (_role, holder) => {
    it.each(SCOPES)('on %s gets exactly what the table grants', async (_where, scope) => {
      const policy = await policyPromise;
      // Asked twice so the memoized answer is checked as well as the first one.
      for (let round = 0; round < 2; round++) {
        expect(mismatches([holder.grant], scope, { workspaceOrg, decide: (action) => policy.authorize(holder.subject, scope, action) })).toEqual([]);
      }
    });
  });
});

describe('a static policy', () => {
  it('combines an org role with workspace roles', async () => {
    const facts: TenantFact[] = [
      ...workspaceFacts,
      { kind: 'org_role', userId: 'u', orgId: 'o1', role: 'billing' },
      { kind: 'workspace_role', userId: 'u', workspaceId: 'w2', role: 'viewer' },
    ];
    const policy = await createStaticPolicy(facts);
    const grants: Grant[] = [
      { role: 'org:billing', held: { orgId: 'o1' } },
      { role: 'ws:viewer', held: { workspaceId: 'w2' } },
    ];
    for (const [, scope] of SCOPES) {
      expect(mismatches(grants, scope, { workspaceOrg, decide: (a) => policy.authorize({ type: 'user', id: 'u' }, scope, a) })).toEqual([]);
    }
    expect(policy.authorize({ type: 'user', id: 'u' }, { orgId: 'o1', workspaceId: 'w2' }, 'trace:read').rule).toEqual({
      role: 'ws:viewer',
      domain: 'ws:w2',
      action: 'trace:read',
    });
  });

  it('gives keys nothing from a scope held at the wrong level', async () => {
    const facts: TenantFact[] = [
      ...workspaceFacts,
      { kind: 'key_scope', keyId: 'org-read', orgId: 'o1', workspaceId: null, scope: 'read' },
      { kind: 'key_scope', keyId: 'org-ingest', orgId: 'o1', workspaceId: null, scope: 'ingest' },
      { kind: 'key_scope', keyId: 'ws-usage', orgId: 'o1', workspaceId: 'w1', scope: 'usage' },
    ];
    const policy = await createStaticPolicy(facts);
    for (const id of ['org-read', 'org-ingest', 'ws-usage']) {
      for (const [, scope] of SCOPES) {
        for (const action of ACTIONS) expect(policy.authorize({ type: 'api_key', id }, scope, action).allowed, `${id} ${action}`).toBe(false);
      }
    }
  });

  it('tells users and keys with the same id apart', async () => {
    const policy = await createStaticPolicy([...workspaceFacts, { kind: 'org_role', userId: 'same', orgId: 'o1', role: 'owner' }]);
    expect(policy.authorize({ type: 'user', id: 'same' }, { orgId: 'o1' }, 'org:read').allowed).toBe(true);
    expect(policy.authorize({ type: 'api_key', id: 'same' }, { orgId: 'o1' }, 'org:read').allowed).toBe(false);
  });

  it('stops a key at its expiry without waiting for a reload', async () => {
    const expiresAtMs = Date.now() + 150;
    const policy = await createStaticPolicy([...workspaceFacts, { kind: 'key_scope', keyId: 'k', orgId: 'o1', workspaceId: 'w1', scope: 'ingest', expiresAtMs }]);
    const ask = () => policy.authorize({ type: 'api_key', id: 'k' }, { orgId: 'o1', workspaceId: 'w1' }, 'span:ingest').allowed;
    expect(ask()).toBe(true);
    await new Promise((r) => setTimeout(r, expiresAtMs - Date.now() + 10));
    expect(ask()).toBe(false);
  });

  it('denies everything when it holds no facts', async () => {
    const policy = await createStaticPolicy([]);
    expect(policy.authorize({ type: 'user', id: 'u' }, { orgId: 'o1' }, 'org:read')).toEqual({ allowed: false });
  });
});
