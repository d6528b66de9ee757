import type { ReactNode } from 'react';
import { canReadOrgIngest, ingestAbilities } from '../ingest/abilities';
import { visibleSections, type Section } from '../permissions/access';
import { formatHash, type Route } from '../routing/routes';
import { navigate } from '../routing/use-location';
import { useOrg, useSession } from './contexts';

const LABELS: Readonly<Record<Section, string>> = {
  traces: 'Traces',
  analytics: 'Analytics',
  keys: 'API keys',
  usage: 'Usage',
  workspaces: 'Workspaces',
  members: 'Members',
  audit: 'Audit log',
};

function sectionRoute(section: Section, orgId: string, workspaceId: string | undefined): Route | null {
  switch (section) {
    case 'traces':
    case 'analytics':
    case 'keys':
      return workspaceId === undefined ? null : { page: section, orgId, workspaceId };
    default:
      return { page: section, orgId };
  }
}

function activeSection(route: Route): Section | 'ingest' | 'org-ingest' | undefined {
  if (route.page === 'trace') return 'traces';
  return ['traces', 'analytics', 'ingest', 'keys', 'usage', 'org-ingest', 'workspaces', 'members', 'audit'].includes(route.page) ? (route.page as Section | 'ingest' | 'org-ingest') : undefined;
}

interface NavItem {
  id: string;
  label: string;
  route: Route;
}

/** The navigation sections plus the ingest pages (offered by their own grant), in reading order. */
function navItems(sections: { workspace: Section[]; org: Section[] }, extra: { orgId: string; workspaceId: string | undefined; ingest: boolean; orgIngest: boolean }): { workspace: NavItem[]; org: NavItem[] } {
  const item = (s: Section, workspaceId: string | undefined): NavItem[] => {
    const r = sectionRoute(s, extra.orgId, workspaceId);
    return r ? [{ id: s, label: LABELS[s], route: r }] : [];
  };
  const workspace = sections.workspace.flatMap((s) => item(s, extra.workspaceId));
  if (extra.ingest && extra.workspaceId !== undefined) {
    const at = workspace.findIndex((i) => i.id === 'keys');
    workspace.splice(at < 0 ? workspace.length : at, 0, { id: 'ingest', label: 'Ingest', route: { page: 'ingest', orgId: extra.orgId, workspaceId: extra.workspaceId } });
  }
  const org = sections.org.flatMap((s) => item(s, undefined));
  if (extra.orgIngest) org.splice(org.findIndex((i) => i.id === 'usage') + 1, 0, { id: 'org-ingest', label: 'Ingest overview', route: { page: 'org-ingest', orgId: extra.orgId } });
  return { workspace, org };
}

/** Header (organization and workspace switchers, who is signed in) and the navigation of what the role may use. */
export function Layout({ route, children }: { route: Route; children: ReactNode }) {
  const { me, signOut } = useSession();
  const { org, workspaces, workspace, access } = useOrg();
  // The workspace the workspace pages refer to: the URL's, else the first one the person may read.
  const current = workspace ?? workspaces.find((w) => visibleSections(access, w.id).workspace.length > 0);
  const sections = visibleSections(access, current?.id);
  const nav = navItems(sections, {
    orgId: org.id,
    workspaceId: current?.id,
    ingest: current !== undefined && ingestAbilities(access, current.id).readLedger,
    orgIngest: canReadOrgIngest(access),
  });
  const active = activeSection(route);
  const switchable = workspaces.filter((w) => visibleSections(access, w.id).workspace.length > 0);

  const switchWorkspace = (id: string): void => {
    if (route.page === 'ingest' && ingestAbilities(access, id).readLedger) return navigate({ page: 'ingest', orgId: org.id, workspaceId: id });
    const page = route.page === 'analytics' || route.page === 'keys' ? route.page : 'traces';
    const target = visibleSections(access, id).workspace.includes(page) ? page : 'traces';
    navigate({ page: target, orgId: org.id, workspaceId: id });
  };

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">
          <span className="brand-mark" aria-hidden="true" />
          Canopy
        </a>
        <label className="switcher">
          <span>Organization</span>
          <select aria-label="Organization" value={org.id} onChange={(e) => navigate({ page: 'org', orgId: e.target.value })}>
            {me.orgs.map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </select>
        </label>
        {switchable.length > 0 && current ? (
          <label className="switcher">
            <span>Workspace</span>
            <select aria-label="Workspace" value={current.id} onChange={(e) => switchWorkspace(e.target.value)}>
              {switchable.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.slug}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <div className="topbar-spacer" />
        <div className="whoami" data-testid="whoami">
          <span>{me.email}</span>
          <span className="badge" data-testid="org-role">
            {org.role}
            {current && access.workspaceRoles[current.id] && org.role === 'member' ? ` · ${access.workspaceRoles[current.id]}` : ''}
          </span>
        </div>
        <button type="button" className="btn btn-quiet" onClick={signOut}>
          Sign out
        </button>
      </header>
      <div className="body">
        <nav className="sidebar" aria-label="Sections">
          {sections.workspace.length > 0 && current ? (
            <div className="nav-group">
              <div className="nav-title">Workspace · {current.slug}</div>
              {nav.workspace.map((i) => (
                <a key={i.id} href={formatHash(i.route)} className={active === i.id ? 'nav-link active' : 'nav-link'} aria-current={active === i.id ? 'page' : undefined}>
                  {i.label}
                </a>
              ))}
            </div>
          ) : null}
          <div className="nav-group">
            <div className="nav-title">Organization · {org.name}</div>
            {nav.org.map((i) => (
              <a key={i.id} href={formatHash(i.route)} className={active === i.id ? 'nav-link active' : 'nav-link'} aria-current={active === i.id ? 'page' : undefined}>
                {i.label}
              </a>
            ))}
          </div>
        </nav>
        <main className="content">{children}</main>
      </div>
    </div>
  );
}
