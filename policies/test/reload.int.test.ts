import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPgPool, revokeApiKey } from '@canopy/core';
import { createTestEnv, createTestOrg, waitFor, type TestEnv } from '@canopy/core/testing';
import { PolicyError, createPolicyEngine, type PolicyEngine, type Subject } from '@canopy/policies';
import { addOrgMember, addUser, addWorkspaceMember, testLogger } from './fixtures.js';

let env: TestEnv;
const engines: PolicyEngine[] = [];

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  for (const engine of engines) await engine.close();
  await env?.cleanup();
});

function start(options: Parameters<typeof createPolicyEngine>[1] = {}): PolicyEngine {
  const engine = createPolicyEngine({ pool: env.pool, log: testLogger() }, options);
  engines.push(engine);
  return engine;
}

type Ask = Parameters<PolicyEngine['authorize']>;

/** Milliseconds until `authorize` answers `want.allowed`, polling every 5 ms; fails after `want.limitMs`. */
async function msUntil(engine: PolicyEngine, ask: Ask, want: { allowed: boolean; limitMs?: number }): Promise<number> {
  const started = Date.now();
  await waitFor(async () => engine.authorize(...ask).allowed === want.allowed, {
    timeoutMs: want.limitMs ?? 1_000,
    intervalMs: 5,
    what: `authorize → ${want.allowed}`,
  });
  return Date.now() - started;
}

async function listenerPids(): Promise<number[]> {
  const { rows } = await env.pool.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN canopy_policy' AND pid <> pg_backend_pid()",
  );
  return rows.map((r) => r.pid);
}

describe('a running policy engine', () => {
  let engine: PolicyEngine;
  let orgId: string;
  let dev: string;
  let prod: string;
  let viewer: Subject;
  let ownerId: string;

  beforeAll(async () => {
    const org = await createTestOrg(env, ['dev', 'prod']);
    orgId = org.orgId;
    dev = org.workspaces.dev!.id;
    prod = org.workspaces.prod!.id;
    ownerId = await addUser(env.pool, 'owner');
    await addOrgMember(env.pool, { orgId, userId: ownerId, role: 'owner' });
    const viewerId = await addUser(env.pool, 'viewer');
    await addOrgMember(env.pool, { orgId, userId: viewerId, role: 'member' });
    await addWorkspaceMember(env.pool, { workspaceId: dev, userId: viewerId, role: 'viewer' });
    viewer = { type: 'user', id: viewerId };
    engine = start({ reloadIntervalMs: 3_600_000 }); // only notifications can make the tests below pass
    await engine.ready;
    expect(engine.version).toBe(1);
  });

  it('drops a member removed from the org within a second', async () => {
    const ask: Ask = [viewer, { orgId, workspaceId: dev }, 'trace:read'];
    expect(engine.authorize(...ask).allowed).toBe(true);
    await env.pool.query('DELETE FROM org_members WHERE org_id = $1 AND user_id = $2', [orgId, viewer.id]);
    // Its workspace_members row is still there: leaving the org takes the workspace with it.
    expect(await msUntil(engine, ask, { allowed: false })).toBeLessThan(1_000);
  });

  it('drops a revoked key within a second', async () => {
    const org = await createTestOrg(env, ['keys']);
    const ws = org.workspaces.keys!;
    const ask: Ask = [{ type: 'api_key', id: ws.ingestKey.id }, { orgId: org.orgId, workspaceId: ws.id }, 'span:ingest'];
    await msUntil(engine, ask, { allowed: true }); // the new org arrived by notification too
    expect(await revokeApiKey(env.pool, ws.ingestKey.id)).toBe(true);
    expect(await msUntil(engine, ask, { allowed: false })).toBeLessThan(1_000);
  });

  it('forgets a deleted workspace within a second, even for the owner', async () => {
    const ask: Ask = [{ type: 'user', id: ownerId }, { orgId, workspaceId: prod }, 'trace:read'];
    expect(engine.authorize(...ask).allowed).toBe(true);
    await env.pool.query('DELETE FROM workspaces WHERE id = $1', [prod]);
    expect(await msUntil(engine, ask, { allowed: false })).toBeLessThan(1_000);
  });

  it('applies a new grant within a second', async () => {
    const userId = await addUser(env.pool, 'newcomer');
    const ask: Ask = [{ type: 'user', id: userId }, { orgId, workspaceId: dev }, 'analytics:read'];
    await addOrgMember(env.pool, { orgId, userId, role: 'admin' });
    expect(await msUntil(engine, ask, { allowed: true })).toBeLessThan(1_000);
  });

  it('never denies an unchanged grant while it reloads, 20 times over', async () => {
    const ask: Ask = [{ type: 'user', id: ownerId }, { orgId, workspaceId: dev }, 'trace:read'];
    const startVersion = engine.version;
    let done = false;
    let calls = 0;
    let denials = 0;
    const hammer = (async () => {
      while (!done) {
        for (let i = 0; i < 500; i++, calls++) if (!engine.authorize(...ask).allowed) denials++;
        await nextTurn();
      }
    })();
    for (let i = 0; i < 20; i++) {
      // An unrelated change each time, so every reload really builds and swaps a new policy.
      const other = await addUser(env.pool, `churn${i}`);
      await addOrgMember(env.pool, { orgId, userId: other, role: 'member' });
      await engine.reload();
    }
    done = true;
    await hammer;
    expect(denials).toBe(0);
    expect(calls).toBeGreaterThan(20 * 500);
    expect(engine.version).toBeGreaterThanOrEqual(startVersion + 20);
  });

  it('reconnects after losing its LISTEN connection and hears changes again', async () => {
    const [pid] = await listenerPids();
    expect(pid).toBeDefined();
    await env.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    const fresh = await waitFor(async () => {
      const pids = await listenerPids();
      return pids.length === 1 && pids[0] !== pid ? pids : null;
    }, { timeoutMs: 5_000, what: 'a new LISTEN connection' });
    expect(fresh).toHaveLength(1);
    const userId = await addUser(env.pool, 'after-reconnect');
    await addOrgMember(env.pool, { orgId, userId, role: 'billing' });
    expect(await msUntil(engine, [{ type: 'user', id: userId }, { orgId }, 'usage:read'], { allowed: true })).toBeLessThan(1_000);
  });
});

describe('reload failures and fallbacks', () => {
  it('keeps the current policy and says so when a reload fails', async () => {
    const { orgId } = await createTestOrg(env, ['dev']);
    const userId = await addUser(env.pool, 'steady');
    await addOrgMember(env.pool, { orgId, userId, role: 'admin' });
    const engine = start({ reloadIntervalMs: 3_600_000 });
    await engine.ready;
    const ask: Ask = [{ type: 'user', id: userId }, { orgId }, 'org:update'];
    expect(engine.authorize(...ask).allowed).toBe(true);
    const log = testLogger();
    const broken = createPolicyEngine({ pool: env.pool, log }, { reloadIntervalMs: 3_600_000 });
    engines.push(broken);
    await broken.ready;
    const warn = vi.spyOn(log, 'warn');

    await env.pool.query('ALTER TABLE org_members RENAME TO org_members_away');
    try {
      await expect(broken.reload()).rejects.toMatchObject({ name: 'PolicyError', code: 'load_failed' });
      expect(broken.authorize(...ask).allowed).toBe(true);
      expect(warn).toHaveBeenCalledWith(expect.objectContaining({ code: 'load_failed' }), expect.stringContaining('keeping version'));
    } finally {
      await env.pool.query('ALTER TABLE org_members_away RENAME TO org_members');
    }
    await broken.reload();
    expect(broken.authorize(...ask).allowed).toBe(true);
  });

  it('catches changes on its timer when it cannot LISTEN', async () => {
    const closedPort = 'postgres://127.0.0.1:1/none';
    const engine = start({ reloadIntervalMs: 200, listenUrl: closedPort, maxReconnectDelayMs: 60_000 });
    await engine.ready;
    const { orgId } = await createTestOrg(env, ['dev']);
    const userId = await addUser(env.pool, 'timer');
    await addOrgMember(env.pool, { orgId, userId, role: 'owner' });
    await msUntil(engine, [{ type: 'user', id: userId }, { orgId }, 'org:delete'], { allowed: true, limitMs: 2_000 });
  });

  it('listens on its own connection when given a URL', async () => {
    const before = await listenerPids();
    const engine = start({ reloadIntervalMs: 3_600_000, listenUrl: env.config.postgres.url });
    await engine.ready;
    expect((await listenerPids()).length).toBe(before.length + 1);
    const { orgId } = await createTestOrg(env, ['dev']);
    const userId = await addUser(env.pool, 'own-conn');
    await addOrgMember(env.pool, { orgId, userId, role: 'member' });
    expect(await msUntil(engine, [{ type: 'user', id: userId }, { orgId }, 'org:read'], { allowed: true })).toBeLessThan(1_000);
    await engine.close();
    await waitFor(async () => (await listenerPids()).length === before.length, { timeoutMs: 2_000, what: 'the LISTEN connection to close' });
  });

  it('rejects `ready` with a PolicyError when the first load fails, and closes twice', async () => {
    const url = new URL(env.config.postgres.url);
    url.pathname = '/canopy_database_that_does_not_exist';
    const pool = createPgPool(url.toString(), 1);
    const engine = createPolicyEngine({ pool, log: testLogger() }, { reloadIntervalMs: 3_600_000 });
    const error: unknown = await engine.ready.then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).code).toBe('load_failed');
    expect(engine.version).toBe(0);
    expect(engine.authorize({ type: 'user', id: 'anyone' }, { orgId: 'any' }, 'org:read').allowed).toBe(false);
    await engine.close();
    await engine.close();
    await pool.end();
  });
});
