import type { ApiKeyScope } from '@canopy/core';
import type { Action } from './actions.js';
import type { RoleName } from './role-table.js';
import type { OrgRole, WorkspaceRole } from './roles.js';

/** Who asks: a person (through a personal token or session) or an API key. */
export type Subject = { type: 'user'; id: string } | { type: 'api_key'; id: string };

/** Where: the organization, and the workspace when the request is about one. */
export interface Scope {
  orgId: string;
  workspaceId?: string;
}

/** The rule that allowed a request, for the audit log. */
export interface MatchedRule {
  role: RoleName;
  /** `org:<id>` or `ws:<id>`: where the subject holds the role */
  domain: string;
  action: Action;
}

export interface Decision {
  allowed: boolean;
  rule?: MatchedRule;
}

export type Authorize = (subject: Subject, scope: Scope, action: Action) => Decision;

/** Tenant data the policy is built from, one fact per grouping row. */
export type TenantFact =
  | { kind: 'org_role'; userId: string; orgId: string; role: OrgRole }
  | { kind: 'workspace_role'; userId: string; workspaceId: string; role: WorkspaceRole }
  | { kind: 'workspace'; workspaceId: string; orgId: string }
  | {
      kind: 'key_scope';
      keyId: string;
      orgId: string;
      /** null for an org key */
      workspaceId: string | null;
      scope: ApiKeyScope;
      /** the key stops acting at this instant (ms since epoch), even before the next reload */
      expiresAtMs?: number | null;
    };
