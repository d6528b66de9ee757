import { useState, type FormEvent } from 'react';
import type { Member, OrgRole } from '../api/types';
import { assignableOrgRoles, can, canManageMember } from '../permissions/access';
import { useOrg, useSession } from '../shell/contexts';
import { formatIso } from '../time/format';
import { ConfirmButton, CopyButton } from '../ui/buttons';
import { Empty, ResourceView } from '../ui/states';
import { useResource } from '../ui/use-resource';
import { WorkspaceRolesEditor } from './WorkspaceRolesEditor';

/** Members with their org and workspace roles; changing, removing and inviting for those who may. */
export function MembersPage() {
  const { api, me } = useSession();
  const { org, access, workspaces } = useOrg();
  const base = `/orgs/${encodeURIComponent(org.id)}/members`;
  const [members, reload] = useResource((signal) => api.get<{ members: Member[] }>(base, undefined, { signal }), org.id);
  const roles = assignableOrgRoles(access);
  const mayInvite = can(access, 'member:invite');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<OrgRole>('member');
  const [invited, setInvited] = useState<{ email: string; token: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const changeRole = async (userId: string, next: OrgRole): Promise<void> => {
    setProblem(null);
    try {
      await api.send('PATCH', `${base}/${encodeURIComponent(userId)}`, { role: next });
      reload();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };

  const invite = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setProblem(null);
    try {
      const r = await api.send<{ token?: string; member?: Member }>('POST', base, { email: email.trim(), role });
      if (r.token) setInvited({ email: email.trim(), token: r.token });
      setEmail('');
      reload();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };

  return (
    <section className="page" aria-labelledby="members-title">
      <div className="page-head">
        <h1 id="members-title">Members</h1>
      </div>
      {problem ? (
        <div className="form-error" role="alert">
          {problem}
        </div>
      ) : null}
      <ResourceView resource={members} onRetry={reload} loadingLabel="Loading members…">
        {({ members: list }) =>
          list.length === 0 ? (
            <Empty title="No members" />
          ) : (
            <table className="table" data-testid="members-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Email</th>
                  <th>Org role</th>
                  <th>Workspace roles</th>
                  <th>Joined</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((m) => {
                  const manage = canManageMember(access, m.role);
                  const self = m.userId === me.id;
                  return (
                    <tr key={m.userId}>
                      <td>
                        {m.name}
                        {self ? <span className="badge">you</span> : null}
                      </td>
                      <td>{m.email}</td>
                      <td>
                        {manage.update && !self ? (
                          <select value={m.role} aria-label={`Role of ${m.email}`} onChange={(e) => void changeRole(m.userId, e.target.value as OrgRole)}>
                            {[...new Set([m.role, ...roles])].map((r) => (
                              <option key={r} value={r}>
                                {r}
                              </option>
                            ))}
                          </select>
                        ) : (
                          <span className="badge">{m.role}</span>
                        )}
                      </td>
                      <td>
                        <WorkspaceRolesEditor member={m} workspaces={workspaces} access={access} onChanged={reload} />
                      </td>
                      <td>{formatIso(m.joinedAt)}</td>
                      <td>
                        {manage.remove && !self ? (
                          <ConfirmButton
                            label="Remove"
                            confirmLabel="Yes, remove"
                            question={`Remove ${m.email} and their workspace roles?`}
                            onConfirm={async () => {
                              await api.send('DELETE', `${base}/${encodeURIComponent(m.userId)}`);
                              reload();
                            }}
                          />
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )
        }
      </ResourceView>
      {mayInvite ? (
        <form className="card form-row" onSubmit={(e) => void invite(e)} aria-label="Invite a member">
          <h2>Invite someone</h2>
          <label className="field">
            <span>Email</span>
            <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required placeholder="name@example.com" />
          </label>
          <label className="field field-narrow">
            <span>Role</span>
            <select value={role} onChange={(e) => setRole(e.target.value as OrgRole)}>
              {roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="btn btn-primary" disabled={!email.trim()}>
            Invite
          </button>
        </form>
      ) : null}
      {invited ? (
        <div className="secret-box" role="status">
          <strong>Invitation for {invited.email}.</strong> Pass this token on; it is shown only now.
          <div className="secret-row">
            <code className="secret">{invited.token}</code>
            <CopyButton text={invited.token} />
          </div>
        </div>
      ) : null}
    </section>
  );
}
