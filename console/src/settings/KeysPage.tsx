import { useState, type FormEvent } from 'react';
import type { ApiKey, CreatedKey } from '../api/types';
import { keyAbilities } from '../permissions/access';
import { useOrg, useSession } from '../shell/contexts';
import { formatIso } from '../time/format';
import { ConfirmButton, CopyButton } from '../ui/buttons';
import { Empty, Forbidden, ResourceView } from '../ui/states';
import { useResource } from '../ui/use-resource';

const SCOPES = ['ingest', 'read'] as const;

/** A workspace's API keys: list, create (the secret shown once, with a copy button), revoke with confirmation. */
export function KeysPage({ workspaceId }: { workspaceId: string }) {
  const { api } = useSession();
  const { access, workspace } = useOrg();
  const abilities = keyAbilities(access, workspaceId);
  const base = `/workspaces/${encodeURIComponent(workspaceId)}/keys`;
  const [keys, reload] = useResource((signal) => api.get<{ keys: ApiKey[] }>(base, undefined, { signal }), workspaceId);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['ingest']);
  const [created, setCreated] = useState<(CreatedKey & { name: string }) | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!abilities.read) return <Forbidden what="managing API keys in this workspace" />;

  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const key = await api.send<CreatedKey>('POST', base, { name: name.trim(), scopes });
      setCreated({ ...key, name: name.trim() });
      setName('');
      reload();
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="page" aria-labelledby="keys-title">
      <div className="page-head">
        <h1 id="keys-title">API keys · {workspace?.slug}</h1>
      </div>
      <p className="muted">Services send spans with an ingest key; dashboards and scripts read traces with a read key.</p>
      {created ? (
        <div className="secret-box" role="status" data-testid="new-key">
          <strong>Key “{created.name}” created.</strong> Copy it now: it is shown only once and cannot be retrieved later.
          <div className="secret-row">
            <code className="secret" data-testid="new-key-secret">
              {created.key}
            </code>
            <CopyButton text={created.key} />
          </div>
          <button type="button" className="btn btn-quiet" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </div>
      ) : null}
      {abilities.create ? (
        <form className="card form-row" onSubmit={(e) => void create(e)} aria-label="Create an API key" data-testid="create-key-form">
          <h2>New key</h2>
          <label className="field">
            <span>Name</span>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="checkout service" required />
          </label>
          <fieldset className="field scopes">
            <legend>Scopes</legend>
            {SCOPES.map((s) => (
              <label key={s} className="check">
                <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} />
                {s}
              </label>
            ))}
          </fieldset>
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim() || scopes.length === 0}>
            Create key
          </button>
          {problem ? <div className="form-error">{problem}</div> : null}
        </form>
      ) : null}
      <ResourceView resource={keys} onRetry={reload} loadingLabel="Loading keys…">
        {({ keys: list }) =>
          list.length === 0 ? (
            <Empty title="No keys yet" />
          ) : (
            <table className="table" data-testid="keys-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Prefix</th>
                  <th>Scopes</th>
                  <th>Created</th>
                  <th>Last used</th>
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((k) => (
                  <tr key={k.id} className={k.revokedAt ? 'revoked' : undefined} data-key-id={k.id}>
                    <td>{k.name}</td>
                    <td className="mono">{k.prefix}…</td>
                    <td>{k.scopes.join(', ')}</td>
                    <td>{formatIso(k.createdAt)}</td>
                    <td>{k.lastUsedAt ? formatIso(k.lastUsedAt) : <span className="muted">never</span>}</td>
                    <td>{k.revokedAt ? <span className="badge badge-muted">revoked {formatIso(k.revokedAt)}</span> : <span className="badge badge-ok">active</span>}</td>
                    <td>
                      {abilities.revoke && !k.revokedAt ? (
                        <ConfirmButton
                          label="Revoke"
                          confirmLabel="Yes, revoke"
                          question={`Revoke “${k.name}”? Anything using it is refused within a second.`}
                          onConfirm={async () => {
                            await api.send('DELETE', `${base}/${encodeURIComponent(k.id)}`);
                            reload();
                          }}
                        />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </ResourceView>
    </section>
  );
}
