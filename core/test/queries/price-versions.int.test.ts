import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_PRICES, currentPriceVersion, DEFAULT_PRICES, DEFAULT_PRICES_REVISION, getPriceList, getPriceVersion, listPriceVersions, loadPriceBook, setOrgPrices, formatPrice } from '../../src/index.js';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';

let env: TestEnv;
const actor = { type: 'user', id: 'usr_pricer' } as const;

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(() => env?.cleanup());

const versionsIn = async (orgId: string): Promise<number[]> =>
  (await env.pool.query<{ version: number }>('SELECT version FROM price_versions WHERE org_id = $1 ORDER BY version', [orgId])).rows.map((r) => r.version);

describe('price table versions', () => {
  it('gives an organization that never changed prices version 1, the built-in list, the first time one is needed', async () => {
    const { orgId } = await createTestOrg(env);
    expect(await versionsIn(orgId)).toEqual([]);
    const list = await getPriceList(env.pool, orgId);
    expect(list).toMatchObject({ version: 1, note: 'the prices in effect when price versions began' });
    expect(list.prices).toHaveLength(DEFAULT_PRICES.length);
    expect(list.prices.every((p) => p.source === 'default')).toBe(true);
    const v1 = await getPriceVersion(env.pool, orgId, 1);
    expect(v1.createdBy).toBe('system:prices');
    // reading again creates nothing more
    await getPriceList(env.pool, orgId);
    await loadPriceBook(env.pool, orgId);
    expect(await versionsIn(orgId)).toEqual([1]);
  });

  it('creates version 1 once when many requests need it at the same moment', async () => {
    const { orgId } = await createTestOrg(env);
    const got = await Promise.all(Array.from({ length: 8 }, () => currentPriceVersion(env.pool, orgId)));
    expect(new Set(got.map((v) => v.version))).toEqual(new Set([1]));
    expect(await versionsIn(orgId)).toEqual([1]);
  });

  it('makes every change a new immutable version with the full effective list, its author and note, audited with the version numbers', async () => {
    const { orgId } = await createTestOrg(env);
    const v2 = await setOrgPrices(env.pool, actor, { orgId, prices: [{ model: 'gpt-4o', inputPerMillion: '1', outputPerMillion: '2' }], note: 'negotiated rate' });
    // the prices before the change became version 1 first, so the history has no gap
    expect(await versionsIn(orgId)).toEqual([1, 2]);
    expect(v2).toMatchObject({ version: 2, note: 'negotiated rate' });
    const stored = await getPriceVersion(env.pool, orgId, 2);
    expect(stored.createdBy).toBe('user:usr_pricer');
    // own entry plus every built-in entry it did not override
    expect(stored.entries).toHaveLength(DEFAULT_PRICES.length);
    expect(stored.entries.find((e) => e.model === 'gpt-4o')).toEqual({
      model: 'gpt-4o', inputPerMillion: '1.00', outputPerMillion: '2.00', cacheReadPerMillion: null, cacheCreationPerMillion: null, source: 'org',
    });
    expect(stored.entries.find((e) => e.model === 'gpt-4o-mini')).toMatchObject({ source: 'default', inputPerMillion: formatPrice(150_000n) });
    const v1 = await getPriceVersion(env.pool, orgId, 1);
    expect(v1.entries.find((e) => e.model === 'gpt-4o')).toMatchObject({ inputPerMillion: '2.50', source: 'default' });

    const { rows: audit } = await env.pool.query<{ before: { version: number }; after: { version: number; note: string } }>(
      "SELECT before, after FROM audit_log WHERE org_id = $1 AND action = 'prices.update'",
      [orgId],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.before.version).toBe(1);
    expect(audit[0]!.after).toMatchObject({ version: 2, note: 'negotiated rate' });

    await setOrgPrices(env.pool, actor, { orgId, prices: [] });
    expect(await versionsIn(orgId)).toEqual([1, 2, 3]);
    expect((await loadPriceBook(env.pool, orgId)).version).toBe(3);
    await expect(env.pool.query("UPDATE price_versions SET note = 'rewritten' WHERE org_id = $1 AND version = 1", [orgId])).rejects.toThrow(/immutable/);
  });

  it('lists versions newest first and names the current one', async () => {
    const { orgId } = await createTestOrg(env);
    await setOrgPrices(env.pool, actor, { orgId, prices: [{ model: 'my-model', inputPerMillion: '9', outputPerMillion: '9' }] });
    const list = await listPriceVersions(env.pool, orgId);
    expect(list.current).toBe(2);
    expect(list.versions.map((v) => [v.version, v.createdBy, v.models])).toEqual([
      [2, 'user:usr_pricer', DEFAULT_PRICES.length + 1],
      [1, 'system:prices', DEFAULT_PRICES.length],
    ]);
  });

  it('makes a new version when the built-in list changed since the latest one', async () => {
    const { orgId } = await createTestOrg(env);
    const v1 = await currentPriceVersion(env.pool, orgId);
    // Version 1 as an older release of Canopy would have written it: gpt-4o at another list price.
    await env.pool.query('DELETE FROM price_versions WHERE org_id = $1', [orgId]);
    const older = v1.entries.map((e) => (e.model === 'gpt-4o' ? { ...e, inputPerMillion: '5.00' } : e));
    await env.pool.query("INSERT INTO price_versions (org_id, version, entries, created_by) VALUES ($1, 1, $2, 'system:prices')", [orgId, JSON.stringify(older)]);
    const now = await currentPriceVersion(env.pool, orgId);
    expect(now).toMatchObject({ version: 2, note: 'the built-in price list changed', createdBy: 'system:prices' });
    expect(now.entries.find((e) => e.model === 'gpt-4o')!.inputPerMillion).toBe('2.50');
  });

  it('adds a version for a newer built-in list only, so releases side by side during an upgrade do not alternate', async () => {
    const { orgId } = await createTestOrg(env);
    const older = BUILT_IN_PRICES;
    const newer = {
      revision: DEFAULT_PRICES_REVISION + 1,
      entries: DEFAULT_PRICES.map((e) => (e.model === 'gpt-4o' ? { ...e, inputPerMillion: '2.00' } : e)),
    };
    expect(await currentPriceVersion(env.pool, orgId, older)).toMatchObject({ version: 1, defaultsRevision: DEFAULT_PRICES_REVISION });
    for (let i = 0; i < 3; i++) {
      expect((await currentPriceVersion(env.pool, orgId, newer)).version).toBe(2);
      // the older release prices with the newer release's version instead of adding its list back
      expect((await currentPriceVersion(env.pool, orgId, older)).version).toBe(2);
    }
    expect(await versionsIn(orgId)).toEqual([1, 2]);
    expect((await getPriceVersion(env.pool, orgId, 2)).entries.find((e) => e.model === 'gpt-4o')!.inputPerMillion).toBe('2.00');

    // A price change served by the older release carries its list; the newer release then adds its own once.
    await setOrgPrices(env.pool, actor, { orgId, prices: [{ model: 'my-model', inputPerMillion: '1', outputPerMillion: '1' }] });
    expect(await versionsIn(orgId)).toEqual([1, 2, 3]);
    const v4 = await currentPriceVersion(env.pool, orgId, newer);
    expect(v4).toMatchObject({ version: 4, defaultsRevision: DEFAULT_PRICES_REVISION + 1 });
    expect(v4.entries.find((e) => e.model === 'my-model')).toMatchObject({ source: 'org' });
    expect((await currentPriceVersion(env.pool, orgId, older)).version).toBe(4);
    expect((await currentPriceVersion(env.pool, orgId, newer)).version).toBe(4);
    expect(await versionsIn(orgId)).toEqual([1, 2, 3, 4]);
  });

  it('ships a new DEFAULT_PRICES_REVISION with every change of the built-in list', () => {
    // Changed DEFAULT_PRICES? Raise DEFAULT_PRICES_REVISION by one and pin the new digest here:
    // organizations only get a version of the new list if its revision is higher.
    const digest = createHash('sha256').update(JSON.stringify(DEFAULT_PRICES)).digest('hex');
    expect({ revision: DEFAULT_PRICES_REVISION, digest }).toEqual({ revision: 1, digest: '6ba4b911fb4c7cf94052fd80c1a3b6d4a86ed408de7ff52542111f144ec85a82' });
  });

  it('answers an unknown version with not_found naming the version', async () => {
    const { orgId } = await createTestOrg(env);
    await expect(getPriceVersion(env.pool, orgId, 7)).rejects.toMatchObject({ code: 'not_found', field: 'version' });
  });
});
