import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import {
  addMember,
  bootstrapOrganization,
  createKeyCache,
  createLogger,
  createPersonalToken,
  createUser,
  normalizeTraceRequest,
  setWorkspaceMember,
} from '@canopy/core';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { createPolicyEngine } from '@canopy/policies';
import { createQueryApi } from '../src/index.js';

// Randomized tenant isolation over a populated store: every workspace's spans carry a
// unique marker (in span names, attributes and service names). Random principals send
// random requests — their own and others' workspace ids, trace ids and attribute filters —
// and no successful answer may ever contain a marker the principal is not entitled to.

const SYSTEM = { type: 'system' as const, id: 'fuzz' };
const ITERATIONS = 600;

interface Ws {
  id: string;
  orgId: string;
  marker: string;
  traceIds: string[];
}
interface Principal {
  name: string;
  org: string;
  secret: string;
  /** workspaces whose trace content it may see */
  sees: Set<string>;
}

let env: TestEnv;
let server: Server;
let base: string;
let stop: () => Promise<void>;
const workspaces: Ws[] = [];
const principals: Principal[] = [];
const orgIds: string[] = [];

/** mulberry32: a seeded PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function populate(): Promise<void> {
  const now = BigInt(Date.now()) * 1_000_000n;
  for (const orgName of ['fuzz-a', 'fuzz-b']) {
    const boot = await bootstrapOrganization(env.pool, { name: orgName, workspaceSlugs: ['one', 'two'] });
    orgIds.push(boot.org.id);
    const orgWs: Ws[] = [];
    for (const [i, w] of boot.workspaces.entries()) {
      const marker = `mk${orgName.slice(-1)}${i}x${Math.random().toString(36).slice(2, 8)}`;
      const traceIds = Array.from({ length: 5 }, (_, t) => `${marker}${t}`.padEnd(32, '0').replace(/[^0-9a-f]/g, 'f').slice(0, 32));
      const spans = traceIds.flatMap((traceId, t) =>
        Array.from({ length: 3 }, (_, s) => ({
          traceId,
          spanId: (t * 10 + s + 1).toString(16).padStart(16, '0'),
          parentSpanId: s === 0 ? '' : (t * 10 + 1).toString(16).padStart(16, '0'),
          name: `${marker} op${s}`,
          kind: 2,
          startTimeUnixNano: (now - BigInt(t) * 60_000_000_000n + BigInt(s)).toString(),
          endTimeUnixNano: (now - BigInt(t) * 60_000_000_000n + BigInt(s) + 1_000_000n).toString(),
          attributes: [
            { key: 'tenant.marker', value: { stringValue: marker } },
            { key: 'gen_ai.request.model', value: { stringValue: `model-${orgName}` } },
            { key: 'gen_ai.usage.input_tokens', value: { intValue: '10' } },
          ],
          status: { code: s === 2 ? 2 : 0 },
        })),
      );
      const rows = normalizeTraceRequest(
        { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${marker}` } }] }, scopeSpans: [{ spans }] }] },
        { orgId: boot.org.id, workspaceId: w.id, batchId: `b-${marker}`, ingestedAtSec: Math.floor(Date.now() / 1000) },
      ).rows;
      await env.clickhouse.insertJsonEachRow('spans', rows);
      const ws = { id: w.id, orgId: boot.org.id, marker, traceIds };
      workspaces.push(ws);
      orgWs.push(ws);
      principals.push({ name: `${orgName} ${w.slug} read key`, org: orgName, secret: w.readKey, sees: new Set([w.id]) });
      principals.push({ name: `${orgName} ${w.slug} ingest key`, org: orgName, secret: w.ingestKey, sees: new Set() });
    }
    principals.push({ name: `${orgName} owner`, org: orgName, secret: boot.ownerToken, sees: new Set(orgWs.map((w) => w.id)) });
    principals.push({ name: `${orgName} billing`, org: orgName, secret: boot.billingToken, sees: new Set() });
    const viewer = await createUser(env.pool, { email: `viewer@${orgName}.test` });
    await addMember(env.pool, SYSTEM, { orgId: boot.org.id, userId: viewer.id, role: 'member' });
    await setWorkspaceMember(env.pool, SYSTEM, { orgId: boot.org.id, workspaceId: orgWs[0]!.id, userId: viewer.id, role: 'viewer' });
    const { token } = await createPersonalToken(env.pool, SYSTEM, { userId: viewer.id, name: 'fuzz' });
    principals.push({ name: `${orgName} viewer of one`, org: orgName, secret: token, sees: new Set([orgWs[0]!.id]) });
  }
}

beforeAll(async () => {
  env = await createTestEnv();
  await populate();
  const log = createLogger({ level: 'silent', pretty: false }, 'query-api');
  const policy = createPolicyEngine({ pool: env.pool, log }, {});
  const keys = await createKeyCache({ pool: env.pool, log }, { ttlMs: 60_000, negativeTtlMs: 60_000 });
  await policy.ready;
  const app = createQueryApi({ clickhouse: env.clickhouse, pg: env.pool, policy, keys, log });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1`;
  stop = async () => {
    await new Promise((r) => server.close(r));
    await keys.close();
    await policy.close();
  };
}, 120_000);

afterAll(async () => {
  await stop?.();
  await env?.cleanup();
});

describe('tenant isolation under random requests', () => {
  it(`never returns another tenant's data in ${ITERATIONS} random requests`, async () => {
    const seed = Number(process.env.CANOPY_FUZZ_SEED ?? Date.now() % 1_000_000);
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const from = Date.now() - 86_400_000;
    const to = Date.now() + 60_000;
    const statuses = new Map<number, number>();
    for (let i = 0; i < ITERATIONS; i++) {
      const who = pick(principals);
      const ws = pick([...workspaces, { id: 'ws_doesnotexist00000000', orgId: 'org_nope', marker: '', traceIds: ['0'.repeat(31) + '1'] }]);
      const other = pick(workspaces);
      const traceId = pick([...ws.traceIds, ...other.traceIds]);
      const org = pick([...orgIds, ws.orgId, 'org_doesnotexist']);
      const path = pick([
        `/workspaces/${ws.id}/traces?from=${from}&to=${to}`,
        `/workspaces/${ws.id}/traces?from=${from}&to=${to}&attr.tenant.marker=${other.marker}`,
        `/workspaces/${ws.id}/traces?from=${from}&to=${to}&service=svc-${other.marker}&limit=100`,
        `/workspaces/${ws.id}/traces?from=${from}&to=${to}&q=${other.marker}&status=error`,
        `/workspaces/${ws.id}/traces/${traceId}`,
        `/workspaces/${ws.id}/analytics/timeseries?from=${from}&to=${to}&groupBy=service`,
        `/workspaces/${ws.id}/analytics/genai?from=${from}&to=${to}&groupBy=model`,
        `/orgs/${org}/usage?from=${new Date(from).toISOString().slice(0, 10)}&to=${new Date(to + 86_400_000).toISOString().slice(0, 10)}&groupBy=workspace,model`,
        `/orgs/${org}/workspaces`,
        `/orgs/${org}/audit`,
      ]);
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${who.secret}` } });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `${who.name} ${path}`).toBeLessThan(500);
      if (res.status !== 200) continue;
      for (const w of workspaces) {
        if (who.sees.has(w.id)) continue;
        expect(text.includes(w.marker), `seed ${seed}: ${who.name} GET ${path} leaked ${w.marker}`).toBe(false);
      }
      // Workspace ids and model names of another organization never appear at all.
      for (const w of workspaces) {
        const foreign = w.orgId !== orgIds[who.org === 'fuzz-a' ? 0 : 1];
        if (foreign) expect(text.includes(w.id), `seed ${seed}: ${who.name} GET ${path} named ${w.id} of another org`).toBe(false);
      }
      const otherModel = `model-${who.org === 'fuzz-a' ? 'fuzz-b' : 'fuzz-a'}`;
      expect(text.includes(otherModel), `seed ${seed}: ${who.name} GET ${path} showed ${otherModel}`).toBe(false);
    }
    // The fuzz must exercise both sides: answers with data and refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(ITERATIONS / 20);
    expect((statuses.get(403) ?? 0) + (statuses.get(404) ?? 0)).toBeGreaterThan(ITERATIONS / 10);
  });
});
