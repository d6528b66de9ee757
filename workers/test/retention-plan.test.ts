import { describe, expect, it } from 'vitest';
import { cutoffFor, partitionOf, planRetention } from '../src/index.js';

const now = new Date('2025-06-15T12:34:56Z');

describe('retention plan', () => {
  it('cuts at whole UTC days: retention_days = 7 keeps the last 7 full days and today', () => {
    expect(cutoffFor(now, 7).toISOString()).toBe('2025-06-08T00:00:00.000Z');
    expect(cutoffFor(new Date('2025-06-15T00:00:00Z'), 1).toISOString()).toBe('2025-06-14T00:00:00.000Z');
    expect(partitionOf(new Date('2025-01-02T00:00:00Z'))).toBe(20250102);
  });

  it('drops day partitions older than the longest retention of any workspace', () => {
    const plan = planRetention(
      [
        { orgId: 'o1', workspaceId: 'a', retentionDays: 7 },
        { orgId: 'o2', workspaceId: 'c', retentionDays: 90 },
        { orgId: 'o1', workspaceId: 'b', retentionDays: 30 },
      ],
      now,
    );
    expect(plan.dropBefore?.toISOString()).toBe('2025-03-17T00:00:00.000Z');
    expect(plan.dropBeforePartition).toBe(20250317);
  });

  it('deletes rows only for workspaces keeping less than the longest retention, grouped by organization and cutoff', () => {
    const plan = planRetention(
      [
        { orgId: 'o1', workspaceId: 'a', retentionDays: 7 },
        { orgId: 'o1', workspaceId: 'b', retentionDays: 7 },
        { orgId: 'o1', workspaceId: 'c', retentionDays: 30 },
        { orgId: 'o2', workspaceId: 'd', retentionDays: 7 },
        { orgId: 'o2', workspaceId: 'e', retentionDays: 60 },
      ],
      now,
    );
    expect(plan.deletes).toEqual([
      { orgId: 'o1', workspaceIds: ['a', 'b'], retentionDays: 7, cutoff: new Date('2025-06-08T00:00:00Z') },
      { orgId: 'o1', workspaceIds: ['c'], retentionDays: 30, cutoff: new Date('2025-05-16T00:00:00Z') },
      { orgId: 'o2', workspaceIds: ['d'], retentionDays: 7, cutoff: new Date('2025-06-08T00:00:00Z') },
    ]);
    expect(plan.cutoffs.get('e')).toEqual({ orgId: 'o2', retentionDays: 60, cutoff: new Date('2025-04-16T00:00:00Z') });
  });

  it('removes nothing when no workspace exists to decide by', () => {
    expect(planRetention([], now)).toMatchObject({ dropBefore: null, dropBeforePartition: null, deletes: [] });
  });
});
