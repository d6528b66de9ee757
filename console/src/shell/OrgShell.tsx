import { useEffect, useMemo, useState } from 'react';
import { ApiError } from '../api/client';
import type { Member, Workspace, WorkspaceRole } from '../api/types';
import { buildAccess, can, landingPage, orgRoleCoversWorkspaces, SECTION_ACTION, workspaceRoleFromProbes, workspaceRolesFromMembers, type Section } from '../permissions/access';
import type { Action } from '../permissions/role-table';
import type { Location, Route } from '../routing/routes';
import { Redirect } from '../routing/use-location';
import { Empty, ErrorState, Forbidden, Loading } from '../ui/states';
import { useResource } from '../ui/use-resource';
import { OrgContext, useSession, type OrgState } from './contexts';
import { Layout } from './Layout';
import { PageFor } from './PageFor';

const PAGE_SECTION: Partial<Record<Route['page'], Section>> = {
  traces: 'traces',
  trace: 'traces',
  analytics: 'analytics',
  keys: 'keys',
  usage: 'usage',
  workspaces: 'workspaces',
  members: 'members',
  audit: 'audit',
};

const SECTION_WHAT: Readonly<Record<Section, string>> = {
  traces: 'reading traces in this workspace',
  analytics: 'reading analytics in this workspace',
  keys: 'managing API keys in this workspace',
  usage: 'reading usage',
  workspaces: 'the workspace list',
  members: 'managing members',
  audit: 'reading the audit log',
};

/** Pages opened by an action outside the navigation sections (the ingest ledger). */
const PAGE_ACTION: Partial<Record<Route['page'], { action: Action; what: string }>> = {
  ingest: { action: 'ingest_ledger:read', what: 'reading the ingest ledger of this workspace' },
  'org-ingest': { action: 'ingest_ledger:read', what: 'reading the organization’s ingest ledger' },
};

const statusOf = (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: unknown) => (e instanceof ApiError ? e.status : 0));

/** One organization: its workspaces, what the person may do in it, the navigation and the page. */
export function OrgShell({ orgId, location }: { orgId: string; location: Location }) {
  const { api, me } = useSession();
  const org = me.orgs.find((o) => o.id === orgId);
  const [workspaces, reloadWorkspaces] = useResource((signal) => api.get<{ workspaces: Workspace[] }>(`/orgs/${encodeURIComponent(orgId)}/workspaces`, undefined, { signal }), orgId);

  // Workspace roles: from the member list where the person may read it, else by probing the
  // current workspace (a plain member cannot read the member list).
  const [known, setKnown] = useState<Record<string, WorkspaceRole>>({});
  const canReadMembers = org ? can({ orgRole: org.role, workspaceRoles: {} }, 'member:read') : false;
  useEffect(() => {
    if (!org || !canReadMembers) return;
    const controller = new AbortController();
    api.get<{ members: Member[] }>(`/orgs/${encodeURIComponent(orgId)}/members`, undefined, { signal: controller.signal }).then(
      (r) => setKnown((k) => ({ ...workspaceRolesFromMembers(r.members, me.id), ...k })),
      () => undefined,
    );
    return () => controller.abort();
  }, [api, orgId, me.id, org, canReadMembers]);

  const workspaceId = 'workspaceId' in location.route ? location.route.workspaceId : undefined;
  const [probing, setProbing] = useState<string | null>(null);
  useEffect(() => {
    if (!org || orgRoleCoversWorkspaces(org.role) || workspaceId === undefined || known[workspaceId] !== undefined) return;
    let live = true;
    setProbing(workspaceId);
    const ws = encodeURIComponent(workspaceId);
    void Promise.all([statusOf(api.get(`/workspaces/${ws}/members`)), statusOf(api.get(`/workspaces/${ws}/keys`))]).then(([members, keys]) => {
      if (!live) return;
      setKnown((k) => ({ ...k, [workspaceId]: workspaceRoleFromProbes({ members, keys }) }));
      setProbing(null);
    });
    return () => {
      live = false;
    };
  }, [api, org, workspaceId, known]);

  const state = useMemo<OrgState | null>(() => {
    if (!org || workspaces.status !== 'ready') return null;
    const list = workspaces.data.workspaces;
    const access = buildAccess({ orgRole: org.role, visibleWorkspaceIds: list.map((w) => w.id), known });
    return { org, workspaces: list, access, workspace: list.find((w) => w.id === workspaceId), reloadWorkspaces };
  }, [org, workspaces, known, workspaceId, reloadWorkspaces]);

  if (!org) {
    return (
      <main className="page-center">
        <Empty title="Organization not found">
          It does not exist or you are not a member. <a href="#/">Go to your organizations</a>
        </Empty>
      </main>
    );
  }
  if (workspaces.status === 'error') {
    return (
      <main className="page-center">
        <ErrorState error={workspaces.error} onRetry={reloadWorkspaces} />
      </main>
    );
  }
  if (!state) return <Loading label="Loading the organization…" />;

  const { route } = location;
  if (route.page === 'org') {
    const landing = landingPage(state.access, state.workspaces.map((w) => w.id));
    return <Redirect to={landing.page === 'traces' ? { page: 'traces', orgId, workspaceId: landing.workspaceId } : { page: landing.page, orgId }} />;
  }

  let content;
  if (workspaceId !== undefined && !state.workspace) {
    content = (
      <Empty title="Workspace not found">
        It does not exist in this organization, or you have no role in it.
      </Empty>
    );
  } else {
    const section = PAGE_SECTION[route.page];
    const other = PAGE_ACTION[route.page];
    const need = section !== undefined ? { action: SECTION_ACTION[section], what: SECTION_WHAT[section] } : other;
    const allowed = need === undefined || can(state.access, need.action, workspaceId);
    if (!allowed && probing === workspaceId) content = <Loading label="Checking your role…" />;
    else if (!allowed && need) content = <Forbidden what={need.what} />;
    else content = <PageFor location={location} />;
  }
  return (
    <OrgContext.Provider value={state}>
      <Layout route={route}>{content}</Layout>
    </OrgContext.Provider>
  );
}
