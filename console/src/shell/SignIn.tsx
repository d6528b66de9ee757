import { useState, type FormEvent } from 'react';

/** Sign in with a personal access token (the way the API authenticates people). */
export function SignIn({ onSubmit, problem }: { onSubmit: (token: string) => void; problem?: string | undefined }) {
  const [token, setToken] = useState('');
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (token.trim()) onSubmit(token.trim());
  };
  return (
    <main className="signin">
      <form className="signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Canopy
        </div>
        <h1 id="signin-title">Sign in</h1>
        <p className="muted">
          Paste a personal access token. Create one with <code>POST /api/v1/me/tokens</code>, or use the owner token that{' '}
          <code>npx canopy bootstrap</code> printed.
        </p>
        <label className="field">
          <span>Personal access token</span>
          <input
            name="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            placeholder="cnp_pat_…"
            autoFocus
          />
        </label>
        {problem ? (
          <div className="form-error" role="alert">
            {problem}
          </div>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={!token.trim()}>
          Sign in
        </button>
        <p className="muted small">The token is kept in this tab only (session storage) and is sent to this server’s API.</p>
      </form>
    </main>
  );
}
