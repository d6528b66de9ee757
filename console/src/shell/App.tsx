import { useCallback, useMemo, useState } from 'react';
import { ApiError, createApiClient } from '../api/client';
import type { Me } from '../api/types';
import { routeOrg } from '../routing/routes';
import { navigate, Redirect, useLocation } from '../routing/use-location';
import { createTokenStore } from '../session/token-store';
import { Empty, ErrorState, Loading } from '../ui/states';
import { useResource } from '../ui/use-resource';
import { SessionContext, type Session } from './contexts';
import { OrgShell } from './OrgShell';
import { SignIn } from './SignIn';

const store = createTokenStore(window.sessionStorage);

/** Signed out → the sign-in form; signed in → `/me`, then the organization the URL names. */
export function App() {
  const [token, setToken] = useState<string | null>(() => store.read());
  const [problem, setProblem] = useState<string | undefined>();
  const location = useLocation();

  const signOut = useCallback((reason?: string) => {
    store.clear();
    setToken(null);
    setProblem(reason);
  }, []);

  const api = useMemo(
    () => (token ? createApiClient({ baseUrl: '', token, onUnauthorized: () => signOut('The token was refused (unknown, revoked or expired). Sign in again.') }) : null),
    [token, signOut],
  );

  const [me] = useResource<Me | null>((signal) => (api ? api.get<Me>('/me', undefined, { signal }) : Promise.resolve(null)), token ?? '');

  if (!token || !api) {
    return (
      <SignIn
        problem={problem}
        onSubmit={(t) => {
          store.write(t);
          setProblem(undefined);
          setToken(t);
          if (location.route.page === 'signin') navigate({ page: 'home' }, undefined, { replace: true });
        }}
      />
    );
  }
  if (me.status === 'loading') return <Loading label="Signing in…" />;
  if (me.status === 'error') {
    if (me.error instanceof ApiError && me.error.status === 403) {
      return <SignIn problem="This token is not a personal access token (API keys cannot sign in)." onSubmit={(t) => (store.write(t), setToken(t))} />;
    }
    return (
      <main className="page-center">
        <ErrorState error={me.error} onRetry={() => window.location.reload()} />
      </main>
    );
  }
  if (!me.data) return <Loading />;
  const session: Session = { api, me: me.data, signOut: () => signOut() };
  const orgId = routeOrg(location.route);
  const { route } = location;

  if (route.page === 'home' || route.page === 'signin') {
    const first = me.data.orgs[0];
    if (first) return <Redirect to={{ page: 'org', orgId: first.id }} />;
    return (
      <SessionContext.Provider value={session}>
        <main className="page-center">
          <Empty title="You are not a member of any organization yet">Ask an owner or admin to invite you, or create one with the API.</Empty>
          <button type="button" className="btn" onClick={() => session.signOut()}>
            Sign out
          </button>
        </main>
      </SessionContext.Provider>
    );
  }
  if (route.page === 'not-found' || orgId === undefined) {
    return (
      <main className="page-center">
        <Empty title="There is no such page">
          <a href="#/">Go to the start page</a>
        </Empty>
      </main>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <OrgShell key={orgId} orgId={orgId} location={location} />
    </SessionContext.Provider>
  );
}
