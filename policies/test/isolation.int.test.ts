import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { ACTIONS, createPolicyEngine, type PolicyEngine, type Scope } from '@canopy/policies';
import { mismatches } from './expected.js';
import { seedOrg, testLogger, type SeededOrg } from './fixtures.js';

let env: TestEnv;
let engine: PolicyEngine;
let a: SeededOrg;
let b: SeededOrg;
const workspaceOrg = new Map<string, string>();

beforeAll(async () => {
  env = await createTestEnv();
  a = await seedOrg(env);
  b = await seedOrg(env);
  for (const org of [a, b]) for (const ws of org.workspaceIds) workspaceOrg.set(ws, org.orgId);
  engine = createPolicyEngine({ pool: env.pool, log: testLogger() });
  await engine.ready;
});

afterAll(async () => {
  await engine?.close();
  await env?.cleanup();
});

/** Every place a subject of `own` might ask about, including ids mixed across orgs. */
function scopesFor(own: SeededOrg, other: SeededOrg): [string, Scope][] {
  const [dev, prod] = own.workspaceIds;
  const [otherDev, otherProd] = other.workspaceIds;
  return [
    ['its org', { orgId: own.orgId }],
    ['dev', { orgId: own.orgId, workspaceId: dev }],
    ['prod', { orgId: own.orgId, workspaceId: prod }],
    ['the other org', { orgId: other.orgId }],
    ["the other org's dev", { orgId: other.orgId, workspaceId: otherDev }],
    ["the other org's prod", { orgId: other.orgId, workspaceId: otherProd }],
    ["the other org's dev under its own org id", { orgId: own.orgId, workspaceId: otherDev }],
    ['its dev under the other org id', { orgId: other.orgId, workspaceId: dev }],
    ['a workspace id that does not exist', { orgId: own.orgId, workspaceId: 'ws_missing' }],
  ];
}

describe('tenant isolation, loaded from Postgres', () => {
  it.each(['a', 'b'] as const)('gives every subject of org %s exactly what the role table grants, everywhere', (which) => {
    const [own, other] = which === 'a' ? [a, b] : [b, a];
    const wrong: string[] = [];
    for (const actor of own.actors) {
      for (const [where, scope] of scopesFor(own, other)) {
        for (const m of mismatches(actor.grants, scope, { workspaceOrg, decide: (action) => engine.authorize(actor.subject, scope, action) })) {
          wrong.push(`${actor.label} on ${where}: ${m}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // The matrix really exercised both outcomes.
    expect(own.actors.length).toBeGreaterThan(10);
  });

  it('never lets billing read trace content, in any workspace of any org', () => {
    for (const org of [a, b]) {
      const billing = org.actors.filter((x) => x.grants.some((g) => g.role === 'org:billing' && 'orgId' in g.held));
      expect(billing.length).toBe(2);
      for (const ws of [...a.workspaceIds, ...b.workspaceIds]) {
        const scope = { orgId: workspaceOrg.get(ws)!, workspaceId: ws };
        const onlyBilling = billing.find((x) => x.grants.length === 1)!;
        expect(engine.authorize(onlyBilling.subject, scope, 'trace:read').allowed).toBe(false);
        expect(engine.authorize(onlyBilling.subject, scope, 'analytics:read').allowed).toBe(false);
      }
      expect(engine.authorize(billing[0]!.subject, { orgId: org.orgId }, 'usage:read').allowed).toBe(true);
    }
  });

  it('gives a member without a workspace role nothing on any workspace', () => {
    const member = a.actors.find((x) => x.label === 'org member')!;
    // `org:read` is about the org, and an org role's grant holds in all of the org's scopes.
    const aboutWorkspaces = ACTIONS.filter((action) => action !== 'org:read');
    for (const ws of a.workspaceIds) {
      for (const action of aboutWorkspaces) {
        expect(engine.authorize(member.subject, { orgId: a.orgId, workspaceId: ws }, action).allowed, action).toBe(false);
      }
    }
    expect(engine.authorize(member.subject, { orgId: a.orgId }, 'org:read').allowed).toBe(true);
  });

  it('lets an org usage key read usage and nothing else', () => {
    const key = a.actors.find((x) => x.label === 'org usage key')!;
    const allowedAtOrg = ACTIONS.filter((action) => engine.authorize(key.subject, { orgId: a.orgId }, action).allowed);
    expect(allowedAtOrg).toEqual(['usage:read', 'billing:read']);
    expect(engine.authorize(key.subject, { orgId: a.orgId, workspaceId: a.workspaceIds[0] }, 'trace:read').allowed).toBe(false);
    expect(engine.authorize(key.subject, { orgId: b.orgId }, 'usage:read').allowed).toBe(false);
  });

  it('keeps a workspace key to its workspace and its scopes', () => {
    const ingest = a.actors.find((x) => x.label === 'dev ingest key')!;
    const [dev, prod] = a.workspaceIds;
    expect(engine.authorize(ingest.subject, { orgId: a.orgId, workspaceId: dev }, 'span:ingest')).toEqual({
      allowed: true,
      rule: { role: 'scope:ingest', domain: `ws:${dev}`, action: 'span:ingest' },
    });
    expect(engine.authorize(ingest.subject, { orgId: a.orgId, workspaceId: dev }, 'trace:read').allowed).toBe(false);
    expect(engine.authorize(ingest.subject, { orgId: a.orgId, workspaceId: prod }, 'span:ingest').allowed).toBe(false);
    expect(engine.authorize(ingest.subject, { orgId: a.orgId }, 'span:ingest').allowed).toBe(false);
  });

  it('reports the matched rule for the audit log', () => {
    const admin = a.actors.find((x) => x.label === 'org admin')!;
    const [, prod] = a.workspaceIds;
    expect(engine.authorize(admin.subject, { orgId: a.orgId, workspaceId: prod }, 'key:revoke')).toEqual({
      allowed: true,
      rule: { role: 'org:admin', domain: `org:${a.orgId}`, action: 'key:revoke' },
    });
  });
});
