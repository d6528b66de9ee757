import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { startApi, unique, userWithToken, type Reply, type RunningApi } from './helpers.js';

interface AuditRow {
  org_id: string;
  actor_type: string;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string;
  before: unknown;
  after: unknown;
  source_ip: string | null;
}

let env: TestEnv;
let api: RunningApi;
let owner: Awaited<ReturnType<typeof userWithToken>>;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  owner = await userWithToken(env.pool, 'owner');
});

afterAll(async () => {
  await api?.close();
  await env?.cleanup();
});

/** Runs one request and returns its reply with the audit rows it wrote. */
async function audited(run: () => Promise<Reply>): Promise<{ reply: Reply; rows: AuditRow[] }> {
  const { rows } = await env.pool.query<{ max: string | null }>('SELECT max(id)::text AS max FROM audit_log');
  const reply = await run();
  const written = await env.pool.query<AuditRow>(
    'SELECT org_id, actor_type, actor_id, action, target_type, target_id, before, after, source_ip FROM audit_log WHERE id > $1 ORDER BY id',
    [rows[0]?.max ?? '0'],
  );
  return { reply, rows: written.rows };
}

const as = (token: string, body?: unknown) => ({ token, ...(body === undefined ? {} : { body }) });

describe('every mutating route leaves exactly one audit entry', () => {
  it('records actor, action, target, before/after and the source IP of each change', async () => {
    const member = await userWithToken(env.pool, 'member');
    const invitee = await userWithToken(env.pool, 'invitee');
    const byOwner = { actor_type: 'user', actor_id: owner.id, source_ip: '127.0.0.1' };
    const ids: Record<string, string> = {};

    // Each step: the request, then the one entry it must leave (matched as a subset).
    const steps: Array<{ name: string; run: () => Promise<Reply>; entry: () => Partial<AuditRow>; status: number; after?: (reply: Reply) => void }> = [
      {
        name: 'create org',
        run: () => api.request('POST', '/api/v1/orgs', as(owner.token, { name: unique('acme') })),
        status: 201,
        after: (r) => (ids.org = (r.json as { id: string }).id),
        entry: () => ({ ...byOwner, org_id: ids.org, action: 'org.create', target_type: 'organization', target_id: ids.org, before: null }),
      },
      {
        name: 'rename org',
        run: () => api.request('PATCH', `/api/v1/orgs/${ids.org}`, as(owner.token, { name: 'Renamed' })),
        status: 200,
        entry: () => ({ ...byOwner, action: 'org.rename', after: { name: 'Renamed' } }),
      },
      {
        name: 'change plan',
        run: () => api.request('PATCH', `/api/v1/orgs/${ids.org}/plan`, as(owner.token, { plan: 'team', monthlySpanQuota: 5 })),
        status: 200,
        entry: () => ({
          ...byOwner,
          action: 'plan.update',
          before: { plan: 'free', monthlySpanQuota: null, ingestRateLimitPerS: null },
          after: { plan: 'team', monthlySpanQuota: 5, ingestRateLimitPerS: null },
        }),
      },
      {
        name: 'create workspace',
        run: () => api.request('POST', `/api/v1/orgs/${ids.org}/workspaces`, as(owner.token, { slug: 'dev' })),
        status: 201,
        after: (r) => (ids.ws = (r.json as { id: string }).id),
        entry: () => ({ ...byOwner, action: 'workspace.create', target_id: ids.ws, before: null, after: { id: ids.ws, slug: 'dev', name: 'dev', retentionDays: 30 } }),
      },
      {
        name: 'update workspace',
        run: () => api.request('PATCH', `/api/v1/orgs/${ids.org}/workspaces/${ids.ws}`, as(owner.token, { retentionDays: 14 })),
        status: 200,
        entry: () => ({ ...byOwner, action: 'workspace.update', before: expect.objectContaining({ retentionDays: 30 }), after: expect.objectContaining({ retentionDays: 14 }) }),
      },
      {
        name: 'add member',
        run: () => api.request('POST', `/api/v1/orgs/${ids.org}/members`, as(owner.token, { userId: member.id, role: 'member' })),
        status: 201,
        entry: () => ({ ...byOwner, action: 'member.add', target_type: 'user', target_id: member.id, after: expect.objectContaining({ role: 'member' }) }),
      },
      {
        name: 'change member role',
        run: () => api.request('PATCH', `/api/v1/orgs/${ids.org}/members/${member.id}`, as(owner.token, { role: 'admin' })),
        status: 200,
        entry: () => ({ ...byOwner, action: 'member.update', target_id: member.id, before: { role: 'member' }, after: { role: 'admin' } }),
      },
      {
        name: 'set workspace role',
        run: () => api.request('PUT', `/api/v1/workspaces/${ids.ws}/members/${member.id}`, as(owner.token, { role: 'developer' })),
        status: 200,
        entry: () => ({ ...byOwner, action: 'workspace_member.set', before: null, after: { workspaceId: ids.ws, role: 'developer' } }),
      },
      {
        name: 'remove workspace role',
        run: () => api.request('DELETE', `/api/v1/workspaces/${ids.ws}/members/${member.id}`, as(owner.token)),
        status: 204,
        entry: () => ({ ...byOwner, action: 'workspace_member.remove', before: { workspaceId: ids.ws, role: 'developer' }, after: null }),
      },
      {
        name: 'invite',
        run: () => api.request('POST', `/api/v1/orgs/${ids.org}/members`, as(owner.token, { email: invitee.email, role: 'billing' })),
        status: 201,
        after: (r) => {
          ids.invitation = (r.json as { invitation: { id: string } }).invitation.id;
          ids.invitationToken = (r.json as { token: string }).token;
        },
        entry: () => ({ ...byOwner, action: 'member.invite', target_type: 'invitation', target_id: ids.invitation, after: expect.objectContaining({ email: invitee.email, role: 'billing' }) }),
      },
      {
        name: 'accept invitation',
        run: () => api.request('POST', '/api/v1/invitations/accept', as(invitee.token, { token: ids.invitationToken })),
        status: 200,
        entry: () => ({ actor_type: 'user', actor_id: invitee.id, source_ip: '127.0.0.1', action: 'invitation.accept', target_id: ids.invitation }),
      },
      {
        name: 'invite again',
        run: () => api.request('POST', `/api/v1/orgs/${ids.org}/members`, as(owner.token, { email: 'later@example.test', role: 'member' })),
        status: 201,
        after: (r) => (ids.invitation2 = (r.json as { invitation: { id: string } }).invitation.id),
        entry: () => ({ ...byOwner, action: 'member.invite' }),
      },
      {
        name: 'withdraw invitation',
        run: () => api.request('DELETE', `/api/v1/orgs/${ids.org}/invitations/${ids.invitation2}`, as(owner.token)),
        status: 200,
        entry: () => ({ ...byOwner, action: 'invitation.revoke', target_id: ids.invitation2, before: expect.objectContaining({ email: 'later@example.test' }), after: null }),
      },
      {
        name: 'create workspace key',
        run: () => api.request('POST', `/api/v1/workspaces/${ids.ws}/keys`, as(owner.token, { name: 'ci', scopes: ['ingest'] })),
        status: 201,
        after: (r) => (ids.key = (r.json as { id: string }).id),
        entry: () => ({ ...byOwner, action: 'key.create', target_type: 'api_key', target_id: ids.key, after: expect.objectContaining({ workspaceId: ids.ws, scopes: ['ingest'], revokedAt: null }) }),
      },
      {
        name: 'revoke workspace key',
        run: () => api.request('DELETE', `/api/v1/workspaces/${ids.ws}/keys/${ids.key}`, as(owner.token)),
        status: 200,
        entry: () => ({ ...byOwner, action: 'key.revoke', target_id: ids.key, before: expect.objectContaining({ revokedAt: null }), after: expect.objectContaining({ revokedAt: expect.any(String) }) }),
      },
      {
        name: 'create usage key',
        run: () => api.request('POST', `/api/v1/orgs/${ids.org}/keys`, as(owner.token, { name: 'finance' })),
        status: 201,
        after: (r) => (ids.usageKey = (r.json as { id: string }).id),
        entry: () => ({ ...byOwner, action: 'key.create', target_id: ids.usageKey, after: expect.objectContaining({ workspaceId: null, scopes: ['usage'] }) }),
      },
      {
        name: 'revoke usage key',
        run: () => api.request('DELETE', `/api/v1/orgs/${ids.org}/keys/${ids.usageKey}`, as(owner.token)),
        status: 200,
        entry: () => ({ ...byOwner, action: 'key.revoke', target_id: ids.usageKey }),
      },
      {
        name: 'remove member',
        run: () => api.request('DELETE', `/api/v1/orgs/${ids.org}/members/${member.id}`, as(owner.token)),
        status: 200,
        entry: () => ({ ...byOwner, action: 'member.remove', target_id: member.id, before: expect.objectContaining({ role: 'admin' }), after: null }),
      },
      {
        name: 'delete workspace',
        run: () => api.request('DELETE', `/api/v1/orgs/${ids.org}/workspaces/${ids.ws}`, as(owner.token)),
        status: 200,
        entry: () => ({ ...byOwner, action: 'workspace.delete', target_id: ids.ws, before: expect.objectContaining({ slug: 'dev', retentionDays: 14 }), after: null }),
      },
      {
        name: 'create personal token',
        run: () => api.request('POST', '/api/v1/me/tokens', as(owner.token, { name: 'laptop' })),
        status: 201,
        after: (r) => (ids.token = (r.json as { id: string }).id),
        entry: () => ({ ...byOwner, org_id: owner.id, action: 'token.create', target_type: 'personal_token', target_id: ids.token }),
      },
      {
        name: 'revoke personal token',
        run: () => api.request('DELETE', `/api/v1/me/tokens/${ids.token}`, as(owner.token)),
        status: 200,
        entry: () => ({ ...byOwner, org_id: owner.id, action: 'token.revoke', target_id: ids.token }),
      },
    ];

    for (const step of steps) {
      const { reply, rows } = await audited(step.run);
      expect({ step: step.name, status: reply.status }).toEqual({ step: step.name, status: step.status });
      step.after?.(reply);
      expect({ step: step.name, entries: rows.length }).toEqual({ step: step.name, entries: 1 });
      expect(rows[0]).toMatchObject({ org_id: ids.org, ...step.entry() });
    }
  });

  it('records nothing for a refused or failed change', async () => {
    const org = (await api.request('POST', '/api/v1/orgs', as(owner.token, { name: unique('quiet') }))).json as { id: string };
    const outsider = await userWithToken(env.pool, 'outsider');
    for (const run of [
      () => api.request('POST', `/api/v1/orgs/${org.id}/workspaces`, as(outsider.token, { slug: 'x' })),
      () => api.request('POST', `/api/v1/orgs/${org.id}/workspaces`, as(owner.token, { slug: 'Bad Slug' })),
      () => api.request('PATCH', `/api/v1/orgs/${org.id}/members/${owner.id}`, as(owner.token, { role: 'member' })),
    ]) {
      const { reply, rows } = await audited(run);
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(rows).toEqual([]);
    }
  });

  it('records the address a trusted proxy reports, and only then', async () => {
    const behindProxy = await startApi(env, { trustProxy: 'loopback' });
    try {
      const forwarded = { 'x-forwarded-for': '203.0.113.9' };
      const trusted = await audited(() => behindProxy.request('POST', '/api/v1/me/tokens', { ...as(owner.token, { name: 'proxied' }), headers: forwarded }));
      expect(trusted.rows[0]?.source_ip).toBe('203.0.113.9');
      const ignored = await audited(() => api.request('POST', '/api/v1/me/tokens', { ...as(owner.token, { name: 'direct' }), headers: forwarded }));
      expect(ignored.rows[0]?.source_ip).toBe('127.0.0.1');
    } finally {
      await behindProxy.close();
    }
  });
});

describe('GET /orgs/:org/audit', () => {
  let orgId: string;
  let workspaceId: string;

  beforeAll(async () => {
    orgId = ((await api.request('POST', '/api/v1/orgs', as(owner.token, { name: unique('trail') }))).json as { id: string }).id;
    workspaceId = ((await api.request('POST', `/api/v1/orgs/${orgId}/workspaces`, as(owner.token, { slug: 'dev' }))).json as { id: string }).id;
    for (const name of ['one', 'two', 'three']) await api.request('PATCH', `/api/v1/orgs/${orgId}/workspaces/${workspaceId}`, as(owner.token, { name }));
  });

  it('lists entries newest first and filters by action, target and actor', async () => {
    const all = await api.request('GET', `/api/v1/orgs/${orgId}/audit`, as(owner.token));
    expect(all.status).toBe(200);
    const entries = (all.json as { entries: Array<{ action: string; sourceIp: string; actorId: string }> }).entries;
    expect(entries.map((e) => e.action)).toEqual(['workspace.update', 'workspace.update', 'workspace.update', 'workspace.create', 'org.create']);
    expect(entries.every((e) => e.sourceIp === '127.0.0.1' && e.actorId === owner.id)).toBe(true);
    const updates = await api.request('GET', `/api/v1/orgs/${orgId}/audit?action=workspace.update&targetType=workspace&targetId=${workspaceId}&actor=${owner.id}`, as(owner.token));
    expect((updates.json as { entries: unknown[] }).entries).toHaveLength(3);
    const nobody = await api.request('GET', `/api/v1/orgs/${orgId}/audit?actor=usr_nobody`, as(owner.token));
    expect((nobody.json as { entries: unknown[] }).entries).toEqual([]);
    const future = await api.request('GET', `/api/v1/orgs/${orgId}/audit?from=${Date.now() + 60_000}`, as(owner.token));
    expect((future.json as { entries: unknown[] }).entries).toEqual([]);
  });

  it('pages with limit and cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Reply = await api.request('GET', `/api/v1/orgs/${orgId}/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`, as(owner.token));
      const body = page.json as { entries: Array<{ id: string }>; nextCursor: string | null };
      expect(body.entries.length).toBeLessThanOrEqual(2);
      seen.push(...body.entries.map((e) => e.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it('exports CSV as a download', async () => {
    const reply = await api.request('GET', `/api/v1/orgs/${orgId}/audit?format=csv`, as(owner.token));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(reply.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="?canopy-audit-${orgId}-\\d{4}-\\d{2}-\\d{2}\\.csv"?$`));
    const lines = reply.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,created_at,actor_type,actor_id,action,target_type,target_id,source_ip,before,after');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toContain(`,user,${owner.id},workspace.update,workspace,${workspaceId},127.0.0.1,`);
  });

  it('is refused to roles without audit:read', async () => {
    const billing = await userWithToken(env.pool, 'billing');
    await api.request('POST', `/api/v1/orgs/${orgId}/members`, as(owner.token, { userId: billing.id, role: 'billing' }));
    expect((await api.request('GET', `/api/v1/orgs/${orgId}/audit?format=csv`, as(billing.token))).status).toBe(403);
  });
});
