import { useState } from 'react';
import type { AuditEntry } from '../api/types';
import { navigate } from '../routing/use-location';
import { useOrg, useSession } from '../shell/contexts';
import { formatIso } from '../time/format';
import { saveBlob } from '../ui/buttons';
import { Empty, ResourceView } from '../ui/states';
import { useResource } from '../ui/use-resource';

const PAGE = 50;

function changeSummary(e: AuditEntry): string {
  const text = JSON.stringify(e.after ?? e.before ?? null);
  return text === 'null' ? '' : text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

/** The organization's audit log, newest first, filterable by action, with CSV export. */
export function AuditPage({ query }: { query: URLSearchParams }) {
  const { api } = useSession();
  const { org } = useOrg();
  const action = query.get('action') ?? '';
  const cursor = query.get('cursor') ?? '';
  const [draft, setDraft] = useState(action);
  const [pages, setPages] = useState<string[]>([]);
  const path = `/orgs/${encodeURIComponent(org.id)}/audit`;
  const [entries, reload] = useResource(
    (signal) => api.get<{ entries: AuditEntry[]; nextCursor: string | null }>(path, { action: action || undefined, cursor: cursor || undefined, limit: String(PAGE) }, { signal }),
    `${org.id}|${action}|${cursor}`,
  );
  const go = (next: { action?: string; cursor?: string }): void => {
    const q = new URLSearchParams();
    const a = next.action ?? action;
    if (a) q.set('action', a);
    if (next.cursor) q.set('cursor', next.cursor);
    navigate({ page: 'audit', orgId: org.id }, q);
  };

  return (
    <section className="page" aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit log</h1>
        <form
          className="page-actions"
          onSubmit={(e) => {
            e.preventDefault();
            setPages([]);
            go({ action: draft.trim(), cursor: '' });
          }}
        >
          <label className="field field-inline">
            <span>Action</span>
            <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="key.create" />
          </label>
          <button type="submit" className="btn">
            Filter
          </button>
          <button
            type="button"
            className="btn"
            onClick={() => void api.download(path, { action: action || undefined, format: 'csv' }).then((f) => saveBlob(f.blob, f.filename))}
          >
            Export CSV
          </button>
        </form>
      </div>
      <ResourceView resource={entries} onRetry={reload} loadingLabel="Loading the audit log…">
        {(r) =>
          r.entries.length === 0 ? (
            <Empty title="No audit entries match" />
          ) : (
            <>
              <table className="table" data-testid="audit-table">
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Actor</th>
                    <th>Action</th>
                    <th>Target</th>
                    <th>Change</th>
                    <th>Source IP</th>
                  </tr>
                </thead>
                <tbody>
                  {r.entries.map((e) => (
                    <tr key={e.id}>
                      <td className="nowrap">{formatIso(e.createdAt)}</td>
                      <td>
                        <span className="badge">{e.actorType}</span> <span className="mono small">{e.actorId}</span>
                      </td>
                      <td className="mono">{e.action}</td>
                      <td>
                        {e.targetType} <span className="mono small muted">{e.targetId}</span>
                      </td>
                      <td className="mono small change">{changeSummary(e)}</td>
                      <td className="mono small">{e.sourceIp ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div className="pager">
                <button type="button" className="btn" disabled={!cursor} onClick={() => {
                  const prev = pages[pages.length - 1] ?? '';
                  setPages(pages.slice(0, -1));
                  go({ cursor: prev });
                }}>
                  ← Newer
                </button>
                <button type="button" className="btn" disabled={!r.nextCursor} onClick={() => {
                  setPages([...pages, cursor]);
                  go({ cursor: r.nextCursor ?? '' });
                }}>
                  Older →
                </button>
              </div>
            </>
          )
        }
      </ResourceView>
    </section>
  );
}
