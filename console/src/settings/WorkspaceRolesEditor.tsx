import { useState } from 'react';
import type { Member, Workspace, WorkspaceRole } from '../api/types';
import { can, type Access } from '../permissions/access';
import { useSession } from '../shell/contexts';

const ROLES: readonly WorkspaceRole[] = ['viewer', 'developer', 'admin'];

/** A member's role in each workspace the signed-in person may manage members of: set, change or take away. */
export function WorkspaceRolesEditor({ member, workspaces, access, onChanged }: { member: Member; workspaces: Workspace[]; access: Access; onChanged: () => void }) {
  const { api } = useSession();
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const manageable = workspaces.filter((w) => can(access, 'workspace_member:manage', w.id));
  const roleIn = (id: string): WorkspaceRole | '' => member.workspaceRoles.find((r) => r.workspaceId === id)?.role ?? '';
  const summary = member.workspaceRoles.length ? member.workspaceRoles.map((w) => `${w.workspaceSlug}: ${w.role}`).join(', ') : '—';

  if (manageable.length === 0 || member.role === 'owner' || member.role === 'admin') {
    // Owners and admins act on every workspace already; nothing to set per workspace.
    return <span className={member.workspaceRoles.length ? undefined : 'muted'}>{member.role === 'owner' || member.role === 'admin' ? 'all (org role)' : summary}</span>;
  }
  const set = async (ws: Workspace, role: WorkspaceRole | ''): Promise<void> => {
    setProblem(null);
    const path = `/workspaces/${encodeURIComponent(ws.id)}/members/${encodeURIComponent(member.userId)}`;
    try {
      if (role === '') await api.send('DELETE', path);
      else await api.send('PUT', path, { role });
      onChanged();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <div className="ws-roles">
      <span className={member.workspaceRoles.length ? undefined : 'muted'}>{summary}</span>{' '}
      <button type="button" className="btn btn-quiet small" onClick={() => setOpen(!open)} aria-expanded={open}>
        {open ? 'Done' : 'Edit'}
      </button>
      {open ? (
        <div className="ws-roles-editor">
          {manageable.map((w) => (
            <label key={w.id} className="field-inline">
              <span className="mono">{w.slug}</span>
              <select value={roleIn(w.id)} aria-label={`Role of ${member.email} in ${w.slug}`} onChange={(e) => void set(w, e.target.value as WorkspaceRole | '')}>
                <option value="">no access</option>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
          ))}
          {problem ? <div className="form-error">{problem}</div> : null}
        </div>
      ) : null}
    </div>
  );
}
