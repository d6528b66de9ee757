import type { ReactNode } from 'react';
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

function activeSection(route: Route): Section | undefined {
  if (route.page === 'trace') return 'traces';
  return ['traces', 'analytics', 'keys', 'usage', 'workspaces', 'members', 'audit'].includes(route.page) ? (route.page as Section) : undefined;
}

/** Header (organization and workspace switchers, who is signed in) and the navigation of what the role may use. */
export function Layout({ route, children }: { route: Route; children: ReactNode }) {
  const { me, signOut } = useSession();
  const { org, workspaces, workspace, access } = useOrg();
  // The workspace the workspace pages refer to: the URL's, else the first one the person may read.
  const current = workspace ?? workspaces.find((w) => visibleSections(access, w.id).workspace.length > 0);
  const sections = visibleSections(access, current?.id);
  const active = activeSection(route);
  const switchable = workspaces.filter((w) => visibleSections(access, w.id).workspace.length > 0);

  const switchWorkspace = (id: string): void => {
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
              {sections.workspace.map((s) => {
                const r = sectionRoute(s, org.id, current.id);
                return r ? (
                  <a key={s} href={formatHash(r)} className={active === s ? 'nav-link active' : 'nav-link'} aria-current={active === s ? 'page' : undefined}>
                    {LABELS[s]}
                  </a>
                ) : null;
              })}
            </div>
          ) : null}
          <div className="nav-group">
            <div className="nav-title">Organization · {org.name}</div>
            {sections.org.map((s) => {
              const r = sectionRoute(s, org.id, undefined)!;
              return (
                <a key={s} href={formatHash(r)} className={active === s ? 'nav-link active' : 'nav-link'} aria-current={active === s ? 'page' : undefined}>
                  {LABELS[s]}
                </a>
              );
            })}
          </div>
        </nav>
        <main className="content">{children}</main>
      </div>
    </div>
  );
}
