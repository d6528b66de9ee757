import { useEffect, useState, type ReactNode } from 'react';

/** Copies `text` to the clipboard, saying so for a moment. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <button type="button" className="btn" onClick={() => void copy()} data-testid="copy-button">
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select and copy' : label}
    </button>
  );
}

/**
 * A destructive action behind a confirmation: the first click asks, the second (on the
 * "Yes, …" button) acts; Cancel backs out.
 */
export function ConfirmButton(props: { label: string; confirmLabel: string; question: ReactNode; onConfirm: () => Promise<void>; disabled?: boolean }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!asking) {
    return (
      <button type="button" className="btn btn-danger-outline" disabled={props.disabled} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  const act = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      setAsking(false);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="confirm" role="group" aria-label="confirm">
      <span className="confirm-question">{props.question}</span>
      <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void act()}>
        {busy ? 'Working…' : props.confirmLabel}
      </button>
      <button type="button" className="btn" disabled={busy} onClick={() => setAsking(false)}>
        Cancel
      </button>
      {error ? <span className="form-error">{error}</span> : null}
    </span>
  );
}

/** Saves a Blob as a file via a temporary object URL. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
