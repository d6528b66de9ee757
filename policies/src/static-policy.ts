import { setImmediate as nextTurn } from 'node:timers/promises';
import { newEnforcer, newModelFromString, type Adapter, type Enforcer, type Model } from 'casbin';
import type { Action } from './actions.js';
import { CASBIN_MODEL, keyName, orgDomain, roleTableRows, userName, wsDomain } from './model.js';
import { FlatRoleManager } from './role-manager.js';
import { isRoleName } from './role-table.js';
import type { Decision, Scope, Subject, TenantFact } from './types.js';

/** An immutable policy: one Casbin enforcer over one set of tenant facts. */
export interface StaticPolicy {
  authorize(subject: Subject, scope: Scope, action: Action): Decision;
  readonly stats: { facts: number; orgs: number; workspaces: number };
}

export interface StaticPolicyOptions {
  /** decisions remembered per policy (0 turns the memo off); the memo is dropped with the policy */
  memoEntries?: number;
}

const DENY: Decision = Object.freeze({ allowed: false });
/** Facts loaded between two yields to the event loop while a policy is built. */
const FACTS_PER_TURN = 5_000;

/**
 * Builds a policy from tenant facts; nothing is shared with any other policy instance.
 * The build yields to the event loop every few thousand facts, so a reload of a large
 * tenant base in a running service does not hold up the requests being served meanwhile
 * (they keep using the policy being replaced).
 */
export async function createStaticPolicy(facts: readonly TenantFact[], options: StaticPolicyOptions = {}): Promise<StaticPolicy> {
  const memoEntries = options.memoEntries ?? 100_000;
  const managers = { g: new FlatRoleManager(), g2: new FlatRoleManager(), g3: new FlatRoleManager() };
  const enforcer = await newEnforcer(newModelFromString(CASBIN_MODEL));
  for (const [ptype, rm] of Object.entries(managers)) enforcer.setNamedRoleManager(ptype, rm);
  const { p, g3 } = roleTableRows();
  enforcer.setAdapter(policyRowsAdapter(p));
  // Loading clears each role manager and points the model's g, g2, g3 at them; the
  // grouping rows go straight into the managers afterwards (Casbin's own path adds
  // every row once per role manager, one promise at a time).
  await enforcer.loadPolicy();
  for (const [role, action] of g3) managers.g3.link(role, action);
  const { orgs, workspaces, keyExpiry } = await linkTenantFacts(facts, managers);
  const memo = new Map<string, Decision>();

  function decide(subject: Subject, scope: Scope, action: Action): Decision {
    const sub = subject.type === 'user' ? userName(subject.id) : keyName(subject.id);
    const ws = scope.workspaceId === undefined ? '' : wsDomain(scope.workspaceId);
    const [allowed, explain] = enforceEx(enforcer, [sub, orgDomain(scope.orgId), ws, action]);
    const [role, level] = explain;
    if (!allowed) return DENY;
    if (role === undefined || !isRoleName(role)) throw new Error(`casbin allowed through an unknown rule ${JSON.stringify(explain)}`);
    return Object.freeze({ allowed, rule: Object.freeze({ role, domain: level === 'ws' ? ws : orgDomain(scope.orgId), action }) });
  }

  return {
    stats: { facts: facts.length, orgs: orgs.size, workspaces: workspaces.size },
    authorize(subject, scope, action) {
      // Unknown ids are denied before Casbin sees them (and before they take a memo slot).
      if (!orgs.has(scope.orgId)) return DENY;
      if (scope.workspaceId !== undefined && !workspaces.has(scope.workspaceId)) return DENY;
      if (subject.type === 'api_key') {
        const expiresAt = keyExpiry.get(subject.id);
        if (expiresAt !== undefined && expiresAt <= Date.now()) return DENY;
      }
      if (memoEntries === 0) return decide(subject, scope, action);
      // NUL cannot occur in Postgres text, so it separates ids unambiguously.
      const key = `${subject.type}\0${subject.id}\0${scope.orgId}\0${scope.workspaceId ?? ''}\0${action}`;
      let decision = memo.get(key);
      if (decision === undefined) {
        decision = decide(subject, scope, action);
        if (memo.size >= memoEntries) memo.clear();
        memo.set(key, decision);
      }
      return decision;
    },
  };
}

/** The one place Casbin's `any[]` request API is called. */
function enforceEx(enforcer: Enforcer, request: [sub: string, org: string, ws: string, act: string]): [boolean, string[]] {
  return enforcer.enforceExSync(...request);
}

/**
 * The grouping rows of the model, from tenant facts:
 * `g, user:<id>, org:<role>, org:<id>` · `g, user:<id>, ws:<role>, ws:<id>` ·
 * `g, key:<id>, scope:<scope>, ws:<id> | org:<id>` · `g2, ws:<id>, org:<id>`.
 */
async function linkTenantFacts(facts: readonly TenantFact[], managers: { g: FlatRoleManager; g2: FlatRoleManager }) {
  const { g, g2 } = managers;
  const orgs = new Set<string>();
  const workspaces = new Set<string>();
  const keyExpiry = new Map<string, number>();
  for (let i = 0; i < facts.length; i++) {
    if (i > 0 && i % FACTS_PER_TURN === 0) await nextTurn();
    const fact = facts[i]!;
    switch (fact.kind) {
      case 'org_role':
        orgs.add(fact.orgId);
        g.link(userName(fact.userId), `org:${fact.role}`, orgDomain(fact.orgId));
        break;
      case 'workspace_role':
        g.link(userName(fact.userId), `ws:${fact.role}`, wsDomain(fact.workspaceId));
        break;
      case 'workspace':
        orgs.add(fact.orgId);
        workspaces.add(fact.workspaceId);
        g2.link(wsDomain(fact.workspaceId), orgDomain(fact.orgId));
        break;
      case 'key_scope':
        orgs.add(fact.orgId);
        g.link(keyName(fact.keyId), `scope:${fact.scope}`, fact.workspaceId === null ? orgDomain(fact.orgId) : wsDomain(fact.workspaceId));
        if (fact.expiresAtMs != null) keyExpiry.set(fact.keyId, Math.min(fact.expiresAtMs, keyExpiry.get(fact.keyId) ?? Infinity));
        break;
    }
  }
  return { orgs, workspaces, keyExpiry };
}

/** Hands the role table's `p` rows to a fresh model; the policy is never written back. */
function policyRowsAdapter(p: string[][]): Adapter {
  const readOnly = (): never => {
    throw new Error('a static policy is read-only');
  };
  return {
    async loadPolicy(model: Model) {
      model.addPolicies('p', 'p', p);
    },
    savePolicy: readOnly,
    addPolicy: readOnly,
    removePolicy: readOnly,
    removeFilteredPolicy: readOnly,
  };
}
