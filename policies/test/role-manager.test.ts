import { describe, expect, it } from 'vitest';
import { FlatRoleManager } from '../src/role-manager.js';

describe('the flat role manager', () => {
  it('links exactly the rows it was given, per domain', async () => {
    const rm = new FlatRoleManager();
    await rm.addLink('user:u', 'org:admin', 'org:o1');
    await rm.addLink('ws:w1', 'org:o1');
    expect(rm.syncedHasLink('user:u', 'org:admin', 'org:o1')).toBe(true);
    expect(rm.syncedHasLink('user:u', 'org:admin', 'org:o2')).toBe(false);
    expect(rm.syncedHasLink('user:u', 'org:admin')).toBe(false);
    expect(rm.syncedHasLink('ws:w1', 'org:o1')).toBe(true);
    expect(rm.syncedHasLink('ws:w1', 'org:o1', 'org:o1')).toBe(false);
    expect(await rm.getRoles('user:u', 'org:o1')).toEqual(['org:admin']);
    expect(await rm.getUsers('org:admin', 'org:o1')).toEqual(['user:u']);
    expect(await rm.getAllDomains()).toEqual(['org:o1', '']);
  });

  it('does not link a name to itself, and follows no chains', async () => {
    const rm = new FlatRoleManager();
    await rm.addLink('a', 'b');
    await rm.addLink('b', 'c');
    expect(rm.syncedHasLink('a', 'a')).toBe(false);
    expect(rm.syncedHasLink('a', 'c')).toBe(false);
    await rm.deleteLink('a', 'b');
    expect(rm.syncedHasLink('a', 'b')).toBe(false);
    await rm.clear();
    expect(rm.syncedHasLink('b', 'c')).toBe(false);
  });
});
