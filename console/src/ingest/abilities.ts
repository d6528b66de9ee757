import { can, type Access } from '../permissions/access';

/**
 * What the ingest pages may offer, from the same role table as every other page: the
 * ledger to every workspace role (and org owners/admins), dead letters to workspace admins
 * (and org owners/admins), the org overview to org owners/admins. Pure.
 */
export interface IngestAbilities {
  readLedger: boolean;
  manageDeadLetters: boolean;
}

export function ingestAbilities(access: Access, workspaceId: string): IngestAbilities {
  return { readLedger: can(access, 'ingest_ledger:read', workspaceId), manageDeadLetters: can(access, 'deadletter:manage', workspaceId) };
}

/** The org-wide ledger needs the grant for the whole organization, not one workspace. */
export function canReadOrgIngest(access: Access): boolean {
  return can(access, 'ingest_ledger:read');
}
