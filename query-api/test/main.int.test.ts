import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapOrganization, lookupKey, removeMember, revokeKey, type BootstrapResult } from '@canopy/core';
import { createTestEnv, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import { SYSTEM, unique } from './helpers.js';

/** The built service as `npm start` runs it: main.ts wires the policy engine and key cache to Postgres NOTIFY. */
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let env: TestEnv;
let service: NodeProcess;
let url: string;
let boot: BootstrapResult;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm test builds before running vitest)`);
  env = await createTestEnv();
  boot = await bootstrapOrganization(env.pool, { name: unique('svc'), workspaceSlugs: ['dev'] });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  service = startNodeProcess(MAIN, { ...env.env, CANOPY_API_PORT: String(port), CANOPY_API_HOST: '127.0.0.1' });
  await waitForHttp(`${url}/healthz`);
});

afterAll(async () => {
  await service?.stop();
  await env?.cleanup();
});

const get = async (path: string, token: string): Promise<number> => (await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } })).status;

describe('the query API service', () => {
  it('serves the management API with the tokens and keys bootstrap printed', async () => {
    expect(await get('/me', boot.ownerToken)).toBe(200);
    expect(await get(`/orgs/${boot.org.id}/workspaces/${boot.workspaces[0]!.id}`, boot.workspaces[0]!.readKey)).toBe(200);
    expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
  });

  it('refuses a key revoked elsewhere, and a member removed elsewhere, within a second', async () => {
    const dev = boot.workspaces[0]!;
    const keyId = (await env.pool.query<{ id: string }>('SELECT id FROM api_keys WHERE workspace_id = $1 AND scopes = $2', [dev.id, ['read']])).rows[0]!.id;
    expect((await lookupKey(env.pool, keyId))?.revokedAt).toBeNull();
    await revokeKey(env.pool, SYSTEM, { orgId: boot.org.id, workspaceId: dev.id, keyId });
    await waitFor(async () => (await get(`/orgs/${boot.org.id}/workspaces/${dev.id}`, dev.readKey)) === 401, { timeoutMs: 1_000, intervalMs: 20 });

    const billing = (await env.pool.query<{ user_id: string }>("SELECT user_id FROM org_members WHERE org_id = $1 AND role = 'billing'", [boot.org.id])).rows[0]!.user_id;
    expect(await get(`/orgs/${boot.org.id}/plan`, boot.billingToken)).toBe(200);
    await removeMember(env.pool, SYSTEM, { orgId: boot.org.id, userId: billing });
    await waitFor(async () => (await get(`/orgs/${boot.org.id}/plan`, boot.billingToken)) === 404, { timeoutMs: 1_000, intervalMs: 20 });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await service.stop('SIGTERM')).toBe(0);
  });
});
