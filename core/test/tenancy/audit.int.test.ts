import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../../src/testing/index.js';
import { auditToCsv, createOrganization, createUser, createWorkspace, csvCell, listAudit, recordAudit, updateWorkspace, type AuditEntry, type Organization } from '../../src/tenancy/index.js';
import { admin, expectTenancyError, unique } from './helpers.js';

let env: TestEnv;
let org: Organization;

beforeAll(async () => {
  env = await createTestEnv();
  const owner = await createUser(env.pool, { email: `${unique('owner')}@example.com`, name: 'Owner' });
  org = await createOrganization(env.pool, admin(owner.id), { name: unique('org'), ownerUserId: owner.id });
});
afterAll(async () => env?.cleanup());

describe('listAudit', () => {
  it('pages newest first without gaps or repeats, also across entries of one transaction (same created_at)', async () => {
    const o = await createOrganization(env.pool, { type: 'system', id: 'test' }, { name: unique('paged'), ownerUserId: (await createUser(env.pool, { email: `${unique('p')}@example.com`, name: '' })).id });
    const client = await env.pool.connect();
    await client.query('BEGIN');
    for (let i = 0; i < 7; i++) await recordAudit(client, { orgId: o.id, actor: { type: 'system', id: 'test' }, action: 'test.same_tx', targetType: 'thing', targetId: `t${i}` });
    await client.query('COMMIT');
    client.release();
    for (let i = 0; i < 4; i++) await createWorkspace(env.pool, admin(), { orgId: o.id, slug: `ws${i}` });

    const all = await listAudit(env.pool, o.id, { limit: 1000 });
    expect(all.entries).toHaveLength(12);
    expect(all.nextCursor).toBeNull();
    expect(all.entries[0]!.action).toBe('workspace.create');
    expect(all.entries.at(-1)!.action).toBe('org.create');

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await listAudit(env.pool, o.id, { limit: 5, ...(cursor ? { cursor } : {}) });
      seen.push(...r.entries.map((e) => e.id));
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    expect(seen).toEqual(all.entries.map((e) => e.id));
  });

  it('filters by actor, action, target and time, and never shows another organization', async () => {
    const ws = await createWorkspace(env.pool, admin('usr_filter'), { orgId: org.id, slug: unique('f') });
    await updateWorkspace(env.pool, admin('usr_other'), { orgId: org.id, workspaceId: ws.id, name: 'renamed' });
    const byActor = await listAudit(env.pool, org.id, { actorId: 'usr_filter' });
    expect(byActor.entries.map((e) => e.action)).toEqual(['workspace.create']);
    const byTarget = await listAudit(env.pool, org.id, { targetType: 'workspace', targetId: ws.id });
    expect(byTarget.entries.map((e) => e.action)).toEqual(['workspace.update', 'workspace.create']);
    expect((await listAudit(env.pool, org.id, { action: 'workspace.update' })).entries.every((e) => e.targetId === ws.id)).toBe(true);
    expect((await listAudit(env.pool, org.id, { from: new Date(Date.now() + 60_000) })).entries).toEqual([]);
    expect((await listAudit(env.pool, org.id, { to: '2000-01-01T00:00:00Z' })).entries).toEqual([]);
    expect((await listAudit(env.pool, org.id, { from: String(Date.now() - 60_000) })).entries.length).toBeGreaterThan(0);
    const other = await createOrganization(env.pool, admin(), { name: unique('other'), ownerUserId: (await createUser(env.pool, { email: `${unique('o')}@example.com`, name: '' })).id });
    expect((await listAudit(env.pool, other.id)).entries.map((e) => e.action)).toEqual(['org.create']);
  });

  it('rejects a forged cursor and a limit over 1000 naming the field', async () => {
    await expectTenancyError(listAudit(env.pool, org.id, { cursor: 'bm9wZQ' }), 'invalid', 'cursor');
    await expectTenancyError(listAudit(env.pool, org.id, { cursor: Buffer.from(JSON.stringify(['2024-01-01T00:00:00Z', '1; DROP'])).toString('base64url') }), 'invalid', 'cursor');
    await expectTenancyError(listAudit(env.pool, org.id, { limit: 1001 }), 'invalid', 'limit');
  });
});

describe('auditToCsv', () => {
  const entry = (over: Partial<AuditEntry>): AuditEntry => ({
    id: '1',
    orgId: 'org_x',
    actorType: 'user',
    actorId: 'usr_1',
    action: 'org.rename',
    targetType: 'organization',
    targetId: 'org_x',
    before: null,
    after: null,
    sourceIp: null,
    createdAt: new Date('2025-03-04T05:06:07.089Z'),
    ...over,
  });

  it('writes a header row and CRLF-terminated records', () => {
    const csv = auditToCsv([entry({ after: { name: 'Acme' } })]);
    expect(csv).toBe(
      'id,created_at,actor_type,actor_id,action,target_type,target_id,source_ip,before,after\r\n' +
        '1,2025-03-04T05:06:07.089Z,user,usr_1,org.rename,organization,org_x,,,"{""name"":""Acme""}"\r\n',
    );
    expect(auditToCsv([])).toBe('id,created_at,actor_type,actor_id,action,target_type,target_id,source_ip,before,after\r\n');
  });

  it('quotes commas, quotes and line breaks per RFC 4180', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell('plain')).toBe('plain');
    const csv = auditToCsv([entry({ actorId: 'a,"b"\r\nc' })]);
    expect(csv).toContain(',user,"a,""b""\r\nc",org.rename,');
  });

  it('defuses cells a spreadsheet would run as formulas', () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('\r=1')).toBe(`"'\r=1"`);
    expect(csvCell('a=1')).toBe('a=1');
    const csv = auditToCsv([entry({ targetId: '=cmd|calc', actorId: '@x' })]);
    expect(csv).toContain(",'@x,");
    expect(csv).toContain(",'=cmd|calc,");
  });

  it('exports real entries from the database', async () => {
    const ws = await createWorkspace(env.pool, admin(), { orgId: org.id, slug: unique('csv') });
    await updateWorkspace(env.pool, admin(), { orgId: org.id, workspaceId: ws.id, name: '=1+1, "quoted"' });
    const { entries } = await listAudit(env.pool, org.id, { targetId: ws.id });
    const lines = auditToCsv(entries).split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain('workspace.update');
    expect(lines[1]).toContain('""name"":""=1+1, \\""quoted\\""""');
  });
});
