import { describe, expect, it } from 'vitest';
import { ORG_ROLES, ORG_WIDE_ROLES, WORKSPACE_ROLES, isOrgRole, isWorkspaceRole } from '@canopy/policies';

describe('role vocabulary', () => {
  it('names the org and workspace roles of the design', () => {
    expect(ORG_ROLES).toEqual(['owner', 'admin', 'billing', 'member']);
    expect(WORKSPACE_ROLES).toEqual(['admin', 'developer', 'viewer']);
    expect(ORG_WIDE_ROLES).toEqual(['owner', 'admin']);
  });

  it.each([
    ['owner', true, false],
    ['billing', true, false],
    ['developer', false, true],
    ['admin', true, true],
    ['root', false, false],
    ['', false, false],
  ])('classifies %j (org role: %s, workspace role: %s)', (name, org, ws) => {
    expect(isOrgRole(name)).toBe(org);
    expect(isWorkspaceRole(name)).toBe(ws);
  });
});
