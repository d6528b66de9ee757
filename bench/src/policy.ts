import { ACTIONS, createStaticPolicy, type Action, type Scope, type StaticPolicy, type Subject, type TenantFact } from '@canopy/policies';
import { percentile, round } from './stats.js';

/**
 * `authorize` on a policy the size of a large tenant base, in memory: how long one
 * decision takes (per call and in a tight loop), against a plain `Map.get` loop over the
 * same number of lookups measured in the same run.
 *
 * Two paths: a decision asked before since the last reload (answered from the policy's
 * memo: `p50Us`, `p99Us`, `meanUs`, `decisionsPerSec`) and a first-time decision, each
 * one a full Casbin evaluation (`uncached*`). `buildMs` is what one reload spends
 * building the enforcer from the tenant rows, besides reading them from Postgres.
 */
export interface PolicyBenchOptions {
  orgs?: number;
  workspacesPerOrg?: number;
  usersPerOrg?: number;
  calls?: number;
  /** distinct (subject, scope, action) requests the calls are drawn from */
  distinctRequests?: number;
  /** calls made with the decision memo off, i.e. each one a full Casbin evaluation */
  uncachedCalls?: number;
}

interface Request {
  subject: Subject;
  scope: Scope;
  action: Action;
}

const WORKSPACE_ROLES = ['admin', 'developer', 'viewer'] as const;
const COMMON_ACTIONS: readonly Action[] = ['trace:read', 'analytics:read', 'workspace:read', 'span:ingest', 'usage:read', 'org:read'];

export async function runPolicyBench(options: PolicyBenchOptions = {}): Promise<{ bench: 'policy'; figures: Record<string, number>; ratios: Record<string, number> }> {
  const orgs = options.orgs ?? 1_000;
  const wsPerOrg = options.workspacesPerOrg ?? 5;
  const usersPerOrg = options.usersPerOrg ?? 20;
  const calls = options.calls ?? 200_000;
  const distinct = options.distinctRequests ?? 50_000;
  const uncachedCalls = options.uncachedCalls ?? 20_000;
  const random = seededRandom(42);

  const facts = tenantFacts(orgs, wsPerOrg, usersPerOrg);
  let started = performance.now();
  const policy = await createStaticPolicy(facts);
  const buildMs = performance.now() - started;
  const uncachedPolicy = await createStaticPolicy(facts, { memoEntries: 0 });

  const pool = Array.from({ length: distinct }, () => randomRequest(random, { orgs, wsPerOrg, usersPerOrg }));
  const requests = Array.from({ length: calls }, () => pool[Math.floor(random() * pool.length)]!);

  // Warm-up: JIT for both paths, and the memo filled with every distinct request, which
  // is the steady state between two reloads.
  for (const r of pool.slice(0, 5_000)) uncachedPolicy.authorize(r.subject, r.scope, r.action);
  for (const r of pool) policy.authorize(r.subject, r.scope, r.action);

  // A tight loop: decisions per second and mean time.
  let allowed = 0;
  started = performance.now();
  for (const r of requests) if (policy.authorize(r.subject, r.scope, r.action).allowed) allowed++;
  const loopMs = performance.now() - started;

  // Per call, for percentiles (each timing adds the clock's own cost).
  const perCall = timeEach(policy, requests);
  const uncached = timeEach(uncachedPolicy, pool.slice(0, uncachedCalls));

  // Baseline: the same number of Map lookups by a prebuilt string key.
  const map = new Map<string, boolean>();
  const keys = requests.map((r) => `${r.subject.type}\0${r.subject.id}\0${r.scope.orgId}\0${r.scope.workspaceId ?? ''}\0${r.action}`);
  for (const key of keys) map.set(key, true);
  let hits = 0;
  started = performance.now();
  for (const key of keys) if (map.get(key)) hits++;
  const mapMs = performance.now() - started;
  if (hits !== calls) throw new Error('baseline lookup missed');

  const meanUs = (loopMs * 1_000) / calls;
  const mapMeanUs = (mapMs * 1_000) / calls;
  return {
    bench: 'policy',
    figures: {
      orgs,
      workspaces: orgs * wsPerOrg,
      users: orgs * usersPerOrg,
      facts: policy.stats.facts,
      buildMs: round(buildMs, 1),
      calls,
      distinctRequests: distinct,
      allowRatio: round(allowed / calls, 3),
      p50Us: round(percentile(perCall, 50), 3),
      p99Us: round(percentile(perCall, 99), 3),
      meanUs: round(meanUs, 3),
      decisionsPerSec: Math.round(calls / (loopMs / 1_000)),
      uncachedP50Us: round(percentile(uncached, 50), 2),
      uncachedP99Us: round(percentile(uncached, 99), 2),
      uncachedMeanUs: round(uncached.reduce((s, v) => s + v, 0) / uncached.length, 2),
      mapLookupMeanUs: round(mapMeanUs, 4),
    },
    ratios: {
      authorizeVsMapLookup: round(meanUs / mapMeanUs, 1),
      uncachedVsMapLookup: round(uncached.reduce((s, v) => s + v, 0) / uncached.length / mapMeanUs, 1),
    },
  };
}

/** Microseconds per call, sorted. */
function timeEach(policy: StaticPolicy, requests: readonly Request[]): number[] {
  const out = new Array<number>(requests.length);
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    const t0 = process.hrtime.bigint();
    policy.authorize(r.subject, r.scope, r.action);
    out[i] = Number(process.hrtime.bigint() - t0) / 1_000;
  }
  return out.sort((x, y) => x - y);
}

/** Per org: an owner, an admin, a billing user, members holding a workspace role each; an ingest and a read key per workspace; a usage key. */
function tenantFacts(orgs: number, wsPerOrg: number, usersPerOrg: number): TenantFact[] {
  const facts: TenantFact[] = [];
  for (let o = 0; o < orgs; o++) {
    const orgId = `org${o}`;
    for (let w = 0; w < wsPerOrg; w++) {
      const workspaceId = `ws${o}_${w}`;
      facts.push({ kind: 'workspace', workspaceId, orgId });
      facts.push({ kind: 'key_scope', keyId: `ki${o}_${w}`, orgId, workspaceId, scope: 'ingest' });
      facts.push({ kind: 'key_scope', keyId: `kr${o}_${w}`, orgId, workspaceId, scope: 'read' });
    }
    facts.push({ kind: 'key_scope', keyId: `ku${o}`, orgId, workspaceId: null, scope: 'usage' });
    for (let u = 0; u < usersPerOrg; u++) {
      const userId = `u${o}_${u}`;
      const role = u === 0 ? 'owner' : u === 1 ? 'admin' : u === 2 ? 'billing' : 'member';
      facts.push({ kind: 'org_role', userId, orgId, role });
      if (role === 'member') facts.push({ kind: 'workspace_role', userId, workspaceId: `ws${o}_${u % wsPerOrg}`, role: WORKSPACE_ROLES[u % 3]! });
    }
  }
  return facts;
}

/** Scopes: half in the subject's own org's workspaces, a fifth at its org, the rest aimed at another org. */
function randomRequest(random: () => number, shape: { orgs: number; wsPerOrg: number; usersPerOrg: number }): Request {
  const pick = (n: number) => Math.floor(random() * n);
  const o = pick(shape.orgs);
  const subject: Subject =
    random() < 0.8 ? { type: 'user', id: `u${o}_${pick(shape.usersPerOrg)}` } : { type: 'api_key', id: `${random() < 0.5 ? 'ki' : 'kr'}${o}_${pick(shape.wsPerOrg)}` };
  const where = random();
  let scope: Scope;
  if (where < 0.5) scope = { orgId: `org${o}`, workspaceId: `ws${o}_${pick(shape.wsPerOrg)}` };
  else if (where < 0.7) scope = { orgId: `org${o}` };
  else {
    const other = (o + 1 + pick(shape.orgs - 1)) % shape.orgs;
    scope = random() < 0.5 ? { orgId: `org${other}`, workspaceId: `ws${other}_${pick(shape.wsPerOrg)}` } : { orgId: `org${o}`, workspaceId: `ws${other}_0` };
  }
  // Half the calls ask for what traffic mostly asks for, half for any action.
  const action = random() < 0.5 ? COMMON_ACTIONS[pick(COMMON_ACTIONS.length)]! : ACTIONS[pick(ACTIONS.length)]!;
  return { subject, scope, action };
}

/** mulberry32: the same requests on every run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
