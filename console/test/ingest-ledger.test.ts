import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/client';
import type { DeadLetter, IngestCounts, IngestMinute, OrgIngestReport } from '../src/api/types';
import { actionErrorMessage, filterFromQuery, mergePage, newestFirst, withItem } from '../src/ingest/dead-letters';
import { canReadOrgIngest, ingestAbilities } from '../src/ingest/abilities';
import {
  differenceText,
  emptyCounts,
  humanLag,
  keyBreakdown,
  lagView,
  minuteRows,
  pendingText,
  reconciliationView,
  rejectedTotal,
  sumCounts,
  workspaceRows,
} from '../src/ingest/ledger';
import type { Access } from '../src/permissions/access';

const counts = (patch: Partial<Omit<IngestCounts, 'rejected'>> & { rejected?: Partial<IngestCounts['rejected']> } = {}): IngestCounts => ({
  ...emptyCounts(),
  ...patch,
  rejected: { ...emptyCounts().rejected, ...patch.rejected },
});
const minute = (iso: string, patch: Parameters<typeof counts>[0] & { keyId?: string | null; workspaceId?: string; workspaceSlug?: string } = {}): IngestMinute => {
  const { keyId, workspaceId, workspaceSlug, ...rest } = patch;
  return { minute: iso, ...counts(rest), ...(keyId !== undefined ? { keyId } : {}), ...(workspaceId ? { workspaceId } : {}), ...(workspaceSlug ? { workspaceSlug } : {}) };
};

describe('the ledger chart', () => {
  const range = { from: new Date('2026-11-01T10:00:30Z'), to: new Date('2026-11-01T10:05:00Z') };

  it('has a row for every minute of the range, zeros where the API left a quiet minute out', () => {
    const rows = minuteRows([minute('2026-11-01T10:01:00Z', { accepted: 10, stored: 8 }), minute('2026-11-01T10:03:00Z', { accepted: 4, stored: 4 })], range);
    expect(rows.map((r) => new Date(r.time).toISOString().slice(11, 16))).toEqual(['10:00', '10:01', '10:02', '10:03', '10:04']);
    expect(rows.map((r) => r.accepted)).toEqual([0, 10, 0, 4, 0]);
    expect(rows.map((r) => r.stored)).toEqual([0, 8, 0, 4, 0]);
    expect(rows[2]).toEqual({ time: Date.parse('2026-11-01T10:02:00Z'), accepted: 0, stored: 0, deadLettered: 0, rejected: 0 });
  });

  it('sums the keys of a minute, rejections over every reason', () => {
    const rows = minuteRows(
      [
        minute('2026-11-01T10:02:00Z', { keyId: 'k1', accepted: 5, stored: 5, rejected: { quota: 3 } }),
        minute('2026-11-01T10:02:00Z', { keyId: 'k2', accepted: 2, deadLettered: 2, rejected: { invalid: 1, tooLargeRequests: 1 } }),
      ],
      range,
    );
    expect(rows[2]).toMatchObject({ accepted: 7, stored: 5, deadLettered: 2, rejected: 5 });
  });

  it('keeps a minute the API answered for outside the asked range instead of dropping its spans', () => {
    const rows = minuteRows([minute('2026-11-01T10:07:00Z', { accepted: 1 })], range);
    expect(rows).toHaveLength(6);
    expect(rows.at(-1)).toMatchObject({ accepted: 1 });
  });
});

describe('ledger totals and keys', () => {
  it('adds every measure, missing measures as zero', () => {
    const total = sumCounts([counts({ accepted: 3, stored: 2, queued: 1, rejected: { rateLimit: 4 } }), counts({ accepted: 1, discarded: 1, rejected: { rateLimit: 1, quota: 2 } })]);
    expect(total).toEqual(counts({ accepted: 4, stored: 2, queued: 1, discarded: 1, rejected: { rateLimit: 5, quota: 2 } }));
    expect(rejectedTotal(total.rejected)).toBe(7);
    expect(sumCounts([])).toEqual(emptyCounts());
  });

  it('breaks the range down per key, busiest first, named where the key list is readable', () => {
    const series = [
      minute('2026-11-01T10:00:00Z', { keyId: 'k1', accepted: 2 }),
      minute('2026-11-01T10:01:00Z', { keyId: 'k2', accepted: 9, stored: 9 }),
      minute('2026-11-01T10:02:00Z', { keyId: 'k1', accepted: 3, stored: 5 }),
      minute('2026-11-01T10:02:00Z', { keyId: '', rejected: { invalid: 4 } }),
      minute('2026-11-01T10:03:00Z', { keyId: null, stored: 1 }),
    ];
    const rows = keyBreakdown(series, new Map([['k2', 'checkout']]));
    expect(rows.map((r) => [r.keyId, r.label, r.named, r.accepted, r.stored])).toEqual([
      ['k2', 'checkout', true, 9, 9],
      ['k1', 'k1', false, 5, 5],
      [null, '(no key recorded)', false, 0, 1],
    ]);
    expect(rejectedTotal(rows[2]!.rejected)).toBe(4);
  });

  it('gives the org overview a row per workspace, also for workspaces without traffic', () => {
    const lag = { pendingBatches: 0, oldestPendingReceivedAt: null, lagMs: 0 };
    const report: OrgIngestReport = {
      from: '',
      to: '',
      series: [minute('2026-11-01T10:00:00Z', { workspaceId: 'w2', workspaceSlug: 'prod', accepted: 3, stored: 3 }), minute('2026-11-01T10:01:00Z', { workspaceId: 'w2', workspaceSlug: 'prod', accepted: 1 })],
      totals: counts({ accepted: 4, stored: 3 }),
      workspaces: [
        { workspaceId: 'w2', workspaceSlug: 'prod', lag: { pendingBatches: 1, oldestPendingReceivedAt: '2026-11-01T10:01:00Z', lagMs: 4000 } },
        { workspaceId: 'w1', workspaceSlug: 'dev', lag },
      ],
      reconciliation: {
        checkedThrough: '2026-11-01T10:01:00Z',
        flagged: [{ workspaceId: 'w2', minute: '2026-11-01T10:00:00Z', accepted: 3, stored: 2, deadLettered: 0, discarded: 0, difference: 1, firstFlaggedAt: null, checkedAt: '2026-11-01T10:02:00Z' }],
      },
    };
    const rows = workspaceRows(report);
    expect(rows.map((r) => [r.workspaceSlug, r.accepted, r.stored, r.lag?.pendingBatches, r.flaggedMinutes])).toEqual([
      ['dev', 0, 0, 0, 0],
      ['prod', 4, 3, 1, 1],
    ]);
  });
});

describe('lag and reconciliation in words', () => {
  it('says how far behind storage is and how many batches wait', () => {
    expect(humanLag(0)).toBe('none');
    expect(humanLag(420)).toBe('under a second');
    expect(humanLag(12_400)).toBe('12 s');
    expect(humanLag(125_000)).toBe('2m 05s');
    expect(pendingText(0)).toBe('no batches pending');
    expect(pendingText(1)).toBe('1 batch pending');
    expect(pendingText(1204)).toBe('1,204 batches pending');
    expect(lagView({ pendingBatches: 0, oldestPendingReceivedAt: null, lagMs: 0 })).toEqual({ caughtUp: true, lag: 'caught up', pending: 'no batches pending', level: 'ok' });
    expect(lagView({ pendingBatches: 3, oldestPendingReceivedAt: '2026-11-01T10:00:00Z', lagMs: 125_000 })).toEqual({ caughtUp: false, lag: '2m 05s', pending: '3 batches pending', level: 'warn' });
    expect(lagView({ pendingBatches: 3, oldestPendingReceivedAt: '2026-11-01T10:00:00Z', lagMs: 600_000 }).level).toBe('bad');
  });

  it('is unchecked before the first run, balanced with nothing flagged, else lists flagged minutes newest first', () => {
    expect(reconciliationView({ checkedThrough: null, flagged: [] })).toEqual({ state: 'unchecked' });
    expect(reconciliationView(undefined)).toEqual({ state: 'unchecked' });
    expect(reconciliationView({ checkedThrough: '2026-11-01T10:00:00Z', flagged: [] })).toEqual({ state: 'balanced', checkedThrough: '2026-11-01T10:00:00Z' });
    const flag = (m: string, difference: number) => ({ workspaceId: 'w1', minute: m, accepted: 10, stored: 10 - difference, deadLettered: 0, discarded: 0, difference, firstFlaggedAt: m, checkedAt: m });
    const view = reconciliationView({ checkedThrough: '2026-11-01T10:10:00Z', flagged: [flag('2026-11-01T10:01:00Z', 2), flag('2026-11-01T10:05:00Z', -1)] });
    expect(view.state).toBe('flagged');
    expect(view.state === 'flagged' && view.flagged.map((f) => f.minute)).toEqual(['2026-11-01T10:05:00Z', '2026-11-01T10:01:00Z']);
    expect(differenceText(2)).toBe('2 spans unaccounted for');
    expect(differenceText(-1)).toBe('1 span more than accepted');
  });
});

const dl = (id: string, deadLetteredAt: string, status: DeadLetter['status'] = 'open'): DeadLetter => ({
  id,
  batchId: `b-${id}`,
  workspaceId: 'w1',
  keyId: 'k1',
  receivedAt: deadLetteredAt,
  deadLetteredAt,
  updatedAt: deadLetteredAt,
  spans: 3,
  bytes: 900,
  attempts: 5,
  replayCount: 0,
  status,
  error: { code: 'insert_rejected', message: 'Cannot parse input' },
});

describe('the dead-letter list', () => {
  it('reads the status filter from the URL, open by default', () => {
    expect(filterFromQuery(new URLSearchParams(''))).toBe('open');
    expect(filterFromQuery(new URLSearchParams('status=all'))).toBe('all');
    expect(filterFromQuery(new URLSearchParams('status=bogus'))).toBe('open');
  });

  it('shows the newest first and merges a next page without repeating an item', () => {
    const first = newestFirst([dl('a', '2026-11-01T10:00:00Z'), dl('b', '2026-11-01T10:05:00Z')]);
    expect(first.map((d) => d.id)).toEqual(['b', 'a']);
    const merged = mergePage(first, [dl('a', '2026-11-01T10:00:00Z', 'replayed'), dl('c', '2026-11-01T09:00:00Z')]);
    expect(merged.map((d) => [d.id, d.status])).toEqual([
      ['b', 'open'],
      ['a', 'replayed'],
      ['c', 'open'],
    ]);
    expect(withItem(merged, 'c', (d) => ({ ...d, status: 'discarded' })).map((d) => d.status)).toEqual(['open', 'replayed', 'discarded']);
  });

  it('explains a refused action: 409 means someone already replayed or discarded it', () => {
    expect(actionErrorMessage(new ApiError({ status: 409, code: 'conflict', message: 'not open' }), 'replay')).toMatch(/^Already replayed or discarded/);
    expect(actionErrorMessage(new ApiError({ status: 404, code: 'not_found', message: 'x' }), 'discard')).toBe('This dead letter no longer exists.');
    expect(actionErrorMessage(new ApiError({ status: 503, code: 'unavailable', message: 'Redis is down' }), 'replay')).toBe('Replay failed: Redis is down');
  });
});

describe('who is offered the ingest pages', () => {
  const member = (roles: Access['workspaceRoles']): Access => ({ orgRole: 'member', workspaceRoles: roles });
  const table: Array<{ who: string; access: Access; abilities: { readLedger: boolean; manageDeadLetters: boolean }; orgWide: boolean }> = [
    { who: 'owner', access: { orgRole: 'owner', workspaceRoles: {} }, abilities: { readLedger: true, manageDeadLetters: true }, orgWide: true },
    { who: 'admin', access: { orgRole: 'admin', workspaceRoles: {} }, abilities: { readLedger: true, manageDeadLetters: true }, orgWide: true },
    { who: 'billing', access: { orgRole: 'billing', workspaceRoles: {} }, abilities: { readLedger: false, manageDeadLetters: false }, orgWide: false },
    { who: 'workspace admin', access: member({ w1: 'admin' }), abilities: { readLedger: true, manageDeadLetters: true }, orgWide: false },
    { who: 'developer', access: member({ w1: 'developer' }), abilities: { readLedger: true, manageDeadLetters: false }, orgWide: false },
    { who: 'viewer', access: member({ w1: 'viewer' }), abilities: { readLedger: true, manageDeadLetters: false }, orgWide: false },
    { who: 'admin of another workspace', access: member({ w2: 'admin' }), abilities: { readLedger: false, manageDeadLetters: false }, orgWide: false },
  ];
  it.each(table)('$who', ({ access, abilities, orgWide }) => {
    expect(ingestAbilities(access, 'w1')).toEqual(abilities);
    expect(canReadOrgIngest(access)).toBe(orgWide);
  });
});
