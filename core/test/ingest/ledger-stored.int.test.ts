import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../../src/testing/index.js';
import { addStoredCounts, countsKey, newId, normalizeTraceRequest, sql, type LedgerCounts } from '../../src/index.js';

// "Stored" of the ingest ledger comes from ClickHouse itself: the materialized view on the
// very INSERT that writes spans files each span under its workspace, API key and the
// minute the collector accepted it (ingested_at).

let env: TestEnv;
const tenant = { orgId: 'org_stored', workspaceId: 'ws_stored' };
const MINUTE_S = Math.floor(Date.UTC(2026, 2, 3, 4, 5) / 1000);

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

const hex = (n: number): string => randomBytes(n).toString('hex');

/** JSONEachRow of `spans` spans as the collector queues them, accepted at `atSec`. */
function rows(spans: number, at: { atSec: number; keyId?: string }): string {
  const n = normalizeTraceRequest(
    {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeSpans: [{ scope: { name: 's' }, spans: Array.from({ length: spans }, () => ({ traceId: hex(16), spanId: hex(8), name: 'op', startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000100000000' })) }],
        },
      ],
    },
    { ...tenant, batchId: newId('batch'), ingestedAtSec: at.atSec, ...(at.keyId === undefined ? {} : { keyId: at.keyId }) },
  );
  return n.rows;
}

describe('ingest_ledger_stored', () => {
  it('holds the spans of every insert per workspace, key and acceptance minute', async () => {
    // Two inserts in one minute for key a (one at its last second), one for key b, one a minute later, one without a key.
    await env.clickhouse.insertJsonEachRow('spans', [rows(3, { atSec: MINUTE_S, keyId: 'key_a' }), rows(2, { atSec: MINUTE_S + 20, keyId: 'key_b' })].join('\n'));
    await env.clickhouse.insertJsonEachRow('spans', rows(4, { atSec: MINUTE_S + 59, keyId: 'key_a' }));
    await env.clickhouse.insertJsonEachRow('spans', rows(5, { atSec: MINUTE_S + 60, keyId: 'key_a' }));
    await env.clickhouse.insertJsonEachRow('spans', rows(1, { atSec: MINUTE_S + 61 }));

    const scope = { orgId: tenant.orgId, workspaceIds: [tenant.workspaceId] };
    const range = { from: new Date(MINUTE_S * 1000), to: new Date((MINUTE_S + 120) * 1000) };
    const byKey: LedgerCounts = new Map();
    await addStoredCounts(env.clickhouse, scope, { ...range, byKey: true, into: byKey });
    const stored = (key: string, minuteS: number): number | undefined => byKey.get(countsKey(tenant.workspaceId, key, minuteS * 1000))?.stored;
    expect([stored('key_a', MINUTE_S), stored('key_b', MINUTE_S), stored('key_a', MINUTE_S + 60), stored('', MINUTE_S + 60)]).toEqual([7, 2, 5, 1]);
    expect(byKey.size).toBe(4);

    const total: LedgerCounts = new Map();
    await addStoredCounts(env.clickhouse, scope, { ...range, byKey: false, into: total });
    expect(total.get(countsKey(tenant.workspaceId, '', MINUTE_S * 1000))?.stored).toBe(9);
    expect(total.get(countsKey(tenant.workspaceId, '', (MINUTE_S + 60) * 1000))?.stored).toBe(6);

    // and the span rows carry their key
    const keys = await env.clickhouse.query<{ key_id: string; n: string }>(
      scope,
      sql`SELECT key_id, toString(count()) AS n FROM spans WHERE ${sql.tenant(scope)} GROUP BY key_id ORDER BY key_id`,
    );
    expect(keys).toEqual([
      { key_id: '', n: '1' },
      { key_id: 'key_a', n: '12' },
      { key_id: 'key_b', n: '2' },
    ]);
  });

  it('reads nothing for another workspace', async () => {
    const other: LedgerCounts = new Map();
    await addStoredCounts(env.clickhouse, { orgId: tenant.orgId, workspaceIds: ['ws_other'] }, { from: new Date(MINUTE_S * 1000), to: new Date((MINUTE_S + 120) * 1000), byKey: false, into: other });
    expect(other.size).toBe(0);
  });
});
