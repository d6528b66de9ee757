import { createContext, useContext } from 'react';
import type { ApiClient } from '../api/client';
import type { Me, MyOrg, Workspace } from '../api/types';
import type { Access } from '../permissions/access';

export interface Session {
  api: ApiClient;
  me: Me;
  signOut(): void;
}

export interface OrgState {
  org: MyOrg;
  workspaces: Workspace[];
  access: Access;
  /** the workspace the URL names, if any */
  workspace: Workspace | undefined;
  reloadWorkspaces(): void;
}

export const SessionContext = createContext<Session | null>(null);
export const OrgContext = createContext<OrgState | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in session');
  return s;
}

export function useOrg(): OrgState {
  const o = useContext(OrgContext);
  if (!o) throw new Error('useOrg outside an organization');
  return o;
}
