import type { ReactNode } from 'react';
import { ApiError } from '../api/client';
import type { Resource } from './use-resource';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty" data-testid="empty-state">
      <strong>{title}</strong>
      {children ? <div className="state-hint">{children}</div> : null}
    </div>
  );
}

/** What to tell a person about a failed request. */
export function describeError(error: Error): { title: string; detail: string } {
  if (error instanceof ApiError) {
    if (error.status === 0) return { title: 'Cannot reach the query API', detail: error.message };
    if (error.status === 401) return { title: 'Your session has ended', detail: 'The token was refused. Sign in again.' };
    if (error.status === 403) return { title: 'Not allowed', detail: 'Your role does not allow this.' };
    if (error.status === 404) return { title: 'Not found', detail: error.message };
    if (error.status === 400) return { title: 'The request was refused', detail: `${error.message}${error.field ? ` (${error.field})` : ''}` };
    return { title: `The query API answered ${error.status}`, detail: error.message };
  }
  return { title: 'Something went wrong', detail: error.message };
}

export function ErrorState({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const { title, detail } = describeError(error);
  return (
    <div className="state state-error" role="alert" data-testid="error-state">
      <strong>{title}</strong>
      <div className="state-hint">{detail}</div>
      {onRetry ? (
        <button type="button" className="btn" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Forbidden({ what }: { what: string }) {
  return (
    <div className="state state-forbidden" role="alert" data-testid="forbidden">
      <strong>Not available to your role</strong>
      <div className="state-hint">Your role in this organization does not include {what}.</div>
    </div>
  );
}

/**
 * Loading, error (with retry) or the content for the data. While reloading, the previous
 * content stays (dimmed) in the same element, so the state of what is inside survives.
 */
export function ResourceView<T>({ resource, onRetry, children, loadingLabel }: { resource: Resource<T>; onRetry?: () => void; children: (data: T) => ReactNode; loadingLabel?: string }) {
  if (resource.status === 'error') return <ErrorState error={resource.error} {...(onRetry ? { onRetry } : {})} />;
  const data = resource.status === 'ready' ? resource.data : resource.previous;
  if (data === undefined) return <Loading {...(loadingLabel ? { label: loadingLabel } : {})} />;
  const stale = resource.status === 'loading';
  return (
    <div className={stale ? 'resource stale' : 'resource'} aria-busy={stale}>
      {children(data)}
    </div>
  );
}
