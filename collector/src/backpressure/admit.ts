import type { IngestPrincipal } from '../auth/authenticate.js';

/** What one request would add to its tenant's usage, known once it is normalized. */
export interface AdmitLoad {
  spans: number;
  /** bytes of the stored rows, the billed unit */
  bytes: number;
}

/** A quota or rate decision: `limited` is answered 429 with Retry-After, nothing is queued. */
export type AdmitDecision =
  | { status: 'ok' }
  /** `limit` says which limit refused (the ingest ledger counts them apart); absent reads as the quota */
  | { status: 'limited'; retryAfterMs: number; reason: string; limit?: 'quota' | 'rate_limit' };

/**
 * The hook for quotas and per-tenant rate limits (usage work, issue 4): called after
 * normalization and before the enqueue, once per request with accepted spans.
 */
export type Admit = (tenant: IngestPrincipal, load: AdmitLoad) => AdmitDecision | Promise<AdmitDecision>;

const OK: AdmitDecision = { status: 'ok' };

/** The default until quotas exist: every request is admitted. */
export const admitAll: Admit = () => OK;
