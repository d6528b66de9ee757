import { useState, type FormEvent } from 'react';
import type { Workspace } from '../api/types';
import { can, visibleSections } from '../permissions/access';
import { formatHash } from '../routing/routes';
import { useOrg, useSession } from '../shell/contexts';
import { formatIso } from '../time/format';
import { Empty } from '../ui/states';

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The organization's workspaces the person may see; creating one for those who may. */
export function WorkspacesPage() {
  const { api } = useSession();
  const { org, workspaces, access, reloadWorkspaces } = useOrg();
  const mayCreate = can(access, 'workspace:create');
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!SLUG.test(slug)) return setProblem('A slug is 1–63 characters a-z, 0-9 and -, starting with a letter or digit');
    setBusy(true);
    setProblem(null);
    try {
      await api.send<Workspace>('POST', `/orgs/${encodeURIComponent(org.id)}/workspaces`, { slug, ...(name.trim() ? { name: name.trim() } : {}) });
      setSlug('');
      setName('');
      reloadWorkspaces();
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="page" aria-labelledby="ws-title">
      <div className="page-head">
        <h1 id="ws-title">Workspaces</h1>
      </div>
      {workspaces.length === 0 ? (
        <Empty title="No workspaces you can see">{mayCreate ? 'Create the first one below.' : 'Ask an admin to give you a role in a workspace.'}</Empty>
      ) : (
        <table className="table" data-testid="workspaces-table">
          <thead>
            <tr>
              <th>Slug</th>
              <th>Name</th>
              <th className="num">Retention</th>
              <th>Created</th>
              <th>Your role</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {workspaces.map((w) => {
              const first = visibleSections(access, w.id).workspace[0];
              return (
                <tr key={w.id}>
                  <td className="mono">{w.slug}</td>
                  <td>{w.name}</td>
                  <td className="num">{w.retentionDays} days</td>
                  <td>{formatIso(w.createdAt)}</td>
                  <td>{access.orgRole === 'member' ? (access.workspaceRoles[w.id] ?? 'viewer') : `org ${access.orgRole}`}</td>
                  <td>{first ? <a href={formatHash({ page: first, orgId: org.id, workspaceId: w.id })}>Open</a> : null}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {mayCreate ? (
        <form className="card form-row" onSubmit={(e) => void create(e)} aria-label="Create a workspace">
          <h2>New workspace</h2>
          <label className="field">
            <span>Slug</span>
            <input value={slug} onChange={(e) => setSlug(e.target.value.toLowerCase())} placeholder="staging" required />
          </label>
          <label className="field">
            <span>Name (optional)</span>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Staging" />
          </label>
          <button type="submit" className="btn btn-primary" disabled={busy || !slug}>
            Create
          </button>
          {problem ? <div className="form-error">{problem}</div> : null}
        </form>
      ) : null}
    </section>
  );
}
