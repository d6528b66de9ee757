import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { MANAGEMENT_ROUTES } from '@canopy/query-api';
import { openDeadLetter } from './dead-letter-fixtures.js';
import { startApi, unique, userWithToken, type Reply, type RunningApi } from './helpers.js';

type Json = Record<string, unknown>;

let env: TestEnv;
let api: RunningApi;
let doc: Json;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startApi(env);
  const reply = await api.request('GET', '/openapi.json');
  expect(reply.status).toBe(200);
  doc = reply.json as Json;
});

afterAll(async () => {
  await api?.close();
  await env?.cleanup();
});

const paths = (): Record<string, Record<string, Json>> => doc.paths as Record<string, Record<string, Json>>;

/** The JSON Schema the document gives for one response. */
function responseSchema(method: string, path: string, status: number): Json {
  const op = paths()[path]?.[method];
  if (!op) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
  const response = (op.responses as Record<string, Json>)[String(status)];
  const schema = (response?.content as Record<string, { schema: Json }> | undefined)?.['application/json']?.schema;
  if (!schema) throw new Error(`${method.toUpperCase()} ${path} documents no JSON ${status} response`);
  return schema;
}

/** Validates a real response against the document (not against the server's own zod schemas). */
function expectConforms(reply: Reply, endpoint: { method: string; path: string }): void {
  const schema = z.fromJSONSchema(responseSchema(endpoint.method, endpoint.path, reply.status) as Parameters<typeof z.fromJSONSchema>[0]);
  const result = schema.safeParse(reply.json);
  expect(result.success ? 'conforms' : result.error.issues).toBe('conforms');
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect((doc.components as Json).securitySchemes).toMatchObject({ bearer: { type: 'http', scheme: 'bearer' } });
  });

  it('documents every registered route, with its path parameters', () => {
    for (const route of MANAGEMENT_ROUTES) {
      const path = `/api/v1${route.path.replace(/:(\w+)/g, '{$1}')}`;
      const op = paths()[path]?.[route.method];
      expect(op, `${route.method} ${path}`).toBeDefined();
      const declared = (op!.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'path').map((p) => p.name);
      expect(declared).toEqual([...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
    }
  });

  it('covers the management routes of DESIGN.md', () => {
    const contract = [
      'post /api/v1/orgs',
      'get /api/v1/orgs/{org}/workspaces',
      'post /api/v1/orgs/{org}/workspaces',
      'get /api/v1/orgs/{org}/members',
      'post /api/v1/orgs/{org}/members',
      'patch /api/v1/orgs/{org}/members/{userId}',
      'delete /api/v1/orgs/{org}/members/{userId}',
      'get /api/v1/workspaces/{ws}/keys',
      'post /api/v1/workspaces/{ws}/keys',
      'delete /api/v1/workspaces/{ws}/keys/{id}',
      'get /api/v1/orgs/{org}/audit',
    ];
    const documented = Object.entries(paths()).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(documented).toEqual(expect.arrayContaining(contract));
  });

  it('has no reference that does not resolve within the document', () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          else walk(v);
        }
      }
    };
    walk(doc);
    for (const ref of refs) {
      const target = ref
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], doc);
      expect(target, ref).toBeDefined();
    }
  });

  it('documents the query parameters of the audit route, and CSV as a second answer', () => {
    const op = paths()['/api/v1/orgs/{org}/audit']!.get!;
    const names = (op.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'query').map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['actor', 'action', 'targetType', 'targetId', 'from', 'to', 'limit', 'cursor', 'format']));
    expect(Object.keys(((op.responses as Json)['200'] as Json).content as Json)).toEqual(['application/json', 'text/csv']);
  });
});

describe('real responses conform to the documented schemas', () => {
  it('for organizations, workspaces, members, keys, tokens and the audit log', async () => {
    const owner = await userWithToken(env.pool, 'owner');
    const as = { token: owner.token };
    const check = async (method: string, path: string, options: { body?: unknown; docPath: string }): Promise<Reply> => {
      const reply = await api.request(method.toUpperCase(), path, { ...as, ...(options.body === undefined ? {} : { body: options.body }) });
      expect(reply.status, `${method} ${path}: ${reply.text}`).toBeLessThan(300);
      expectConforms(reply, { method, path: options.docPath });
      return reply;
    };
    const org = (await check('post', '/api/v1/orgs', { body: { name: unique('doc') }, docPath: '/api/v1/orgs' })).json as { id: string };
    await check('get', '/api/v1/orgs', { docPath: '/api/v1/orgs' });
    await check('get', '/api/v1/me', { docPath: '/api/v1/me' });
    const ws = (await check('post', `/api/v1/orgs/${org.id}/workspaces`, { body: { slug: 'dev' }, docPath: '/api/v1/orgs/{org}/workspaces' })).json as { id: string };
    await check('get', `/api/v1/orgs/${org.id}/workspaces`, { docPath: '/api/v1/orgs/{org}/workspaces' });
    await check('post', `/api/v1/orgs/${org.id}/members`, { body: { email: 'doc@example.test', role: 'member' }, docPath: '/api/v1/orgs/{org}/members' });
    await check('get', `/api/v1/orgs/${org.id}/members`, { docPath: '/api/v1/orgs/{org}/members' });
    await check('get', `/api/v1/orgs/${org.id}/invitations`, { docPath: '/api/v1/orgs/{org}/invitations' });
    const key = (await check('post', `/api/v1/workspaces/${ws.id}/keys`, { body: { name: 'ci', scopes: ['ingest'] }, docPath: '/api/v1/workspaces/{ws}/keys' })).json as { id: string };
    await check('get', `/api/v1/workspaces/${ws.id}/keys`, { docPath: '/api/v1/workspaces/{ws}/keys' });
    await check('delete', `/api/v1/workspaces/${ws.id}/keys/${key.id}`, { docPath: '/api/v1/workspaces/{ws}/keys/{id}' });
    await check('post', '/api/v1/me/tokens', { body: { name: 'doc' }, docPath: '/api/v1/me/tokens' });
    await check('get', '/api/v1/me/tokens', { docPath: '/api/v1/me/tokens' });
    await check('get', `/api/v1/orgs/${org.id}/plan`, { docPath: '/api/v1/orgs/{org}/plan' });
    await check('get', `/api/v1/orgs/${org.id}/audit`, { docPath: '/api/v1/orgs/{org}/audit' });
  });

  it('for dead letters: list, inspect, replay (202) and discard', async () => {
    const owner = await userWithToken(env.pool, 'dl-owner');
    const as = { token: owner.token };
    const org = (await api.request('POST', '/api/v1/orgs', { ...as, body: { name: unique('dl') } })).json as { id: string };
    const ws = (await api.request('POST', `/api/v1/orgs/${org.id}/workspaces`, { ...as, body: { slug: 'prod' } })).json as { id: string };
    await api.policy.reload();
    const [replayed, discarded] = [await openDeadLetter(env.pool, { orgId: org.id, workspaceId: ws.id }), await openDeadLetter(env.pool, { orgId: org.id, workspaceId: ws.id })];
    const base = `/api/v1/workspaces/${ws.id}/dead-letters`;
    const docBase = '/api/v1/workspaces/{ws}/dead-letters';
    const calls: Array<[string, string, string, number]> = [
      ['get', `${base}?status=all`, docBase, 200],
      ['get', `${base}/${replayed.id}`, `${docBase}/{id}`, 200],
      ['post', `${base}/${replayed.id}/replay`, `${docBase}/{id}/replay`, 202],
      ['delete', `${base}/${discarded.id}`, `${docBase}/{id}`, 200],
      ['get', `${base}/${discarded.id}`, `${docBase}/{id}`, 200],
    ];
    for (const [method, path, docPath, status] of calls) {
      const reply = await api.request(method.toUpperCase(), path, as);
      expect(reply.status, `${method} ${path}: ${reply.text}`).toBe(status);
      expectConforms(reply, { method, path: docPath });
    }
    const list = paths()[docBase]!.get!;
    expect((list.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'query').map((p) => p.name)).toEqual(['status', 'limit', 'cursor']);
    expect(list['x-canopy-action']).toBe('deadletter:manage');
  });

  it('for prices, price table versions and re-pricing', async () => {
    const owner = await userWithToken(env.pool, 'pricer');
    const org = (await api.request('POST', '/api/v1/orgs', { token: owner.token, body: { name: unique('prices') } })).json as { id: string };
    const check = async (method: string, path: string, options: { body?: unknown; docPath: string }): Promise<Reply> => {
      const reply = await api.request(method.toUpperCase(), path, { token: owner.token, ...(options.body === undefined ? {} : { body: options.body }) });
      expect(reply.status, `${method} ${path}: ${reply.text}`).toBe(200);
      expectConforms(reply, { method, path: options.docPath });
      return reply;
    };
    await check('get', `/api/v1/orgs/${org.id}/prices`, { docPath: '/api/v1/orgs/{org}/prices' });
    await check('put', `/api/v1/orgs/${org.id}/prices`, { body: { prices: [{ model: 'm', inputPerMillion: '1', outputPerMillion: '2' }], note: 'doc' }, docPath: '/api/v1/orgs/{org}/prices' });
    await check('get', `/api/v1/orgs/${org.id}/prices/versions`, { docPath: '/api/v1/orgs/{org}/prices/versions' });
    await check('get', `/api/v1/orgs/${org.id}/prices/versions/1`, { docPath: '/api/v1/orgs/{org}/prices/versions/{version}' });
    await check('post', `/api/v1/orgs/${org.id}/prices/reprice`, { body: { from: '2026-11-01', to: '2026-11-02', version: 1 }, docPath: '/api/v1/orgs/{org}/prices/reprice' });
    const reprice = paths()['/api/v1/orgs/{org}/prices/reprice']!.post!;
    const body = ((reprice.requestBody as Json).content as Record<string, { schema: Json }>)['application/json']!.schema;
    expect(body).toMatchObject({ required: expect.arrayContaining(['from', 'to']) });
    expect(Object.keys(body.properties as Json)).toEqual(['from', 'to', 'version']);
    const version = paths()['/api/v1/orgs/{org}/prices/versions/{version}']!.get!;
    expect((version.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'path').map((p) => p.name)).toEqual(['org', 'version']);
  });

  it('for the ingest ledger of a workspace and of the organization', async () => {
    const owner = await userWithToken(env.pool, 'ledger-owner');
    const as = { token: owner.token };
    const org = (await api.request('POST', '/api/v1/orgs', { ...as, body: { name: unique('ledger') } })).json as { id: string };
    const ws = (await api.request('POST', `/api/v1/orgs/${org.id}/workspaces`, { ...as, body: { slug: 'prod' } })).json as { id: string };
    await api.policy.reload();
    const calls: Array<[string, string]> = [
      [`/api/v1/workspaces/${ws.id}/ingest`, '/api/v1/workspaces/{ws}/ingest'],
      [`/api/v1/workspaces/${ws.id}/ingest?groupBy=key&from=${Date.now() - 3_600_000}`, '/api/v1/workspaces/{ws}/ingest'],
      [`/api/v1/orgs/${org.id}/ingest`, '/api/v1/orgs/{org}/ingest'],
    ];
    for (const [path, docPath] of calls) {
      const reply = await api.request('GET', path, as);
      expect(reply.status, `${path}: ${reply.text}`).toBe(200);
      expectConforms(reply, { method: 'get', path: docPath });
    }
    for (const [, docPath] of calls) {
      const op = paths()[docPath]!.get!;
      expect((op.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'query').map((p) => p.name)).toEqual(['from', 'to', 'groupBy']);
      expect(op['x-canopy-action']).toBe('ingest_ledger:read');
    }
  });

  it('would catch a response with a field the document does not list', () => {
    const schema = z.fromJSONSchema(responseSchema('get', '/api/v1/orgs/{org}', 200) as Parameters<typeof z.fromJSONSchema>[0]);
    const org = { id: 'org_x', name: 'x', createdAt: new Date().toISOString() };
    expect(schema.safeParse(org).success).toBe(true);
    expect(schema.safeParse({ ...org, secret: 'leak' }).success).toBe(false);
  });

  it('for errors', async () => {
    const reply = await api.request('GET', '/api/v1/orgs');
    const error = z.object({ error: z.strictObject({ code: z.string(), message: z.string(), field: z.string().optional() }) }).strict();
    expect(error.safeParse(reply.json).success).toBe(true);
  });
});
