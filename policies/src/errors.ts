export type PolicyErrorCode = 'load_failed' | 'listen_failed';

/** The policy layer's one error class: a bounded code for metrics and a cause for logs. */
export class PolicyError extends Error {
  constructor(
    readonly code: PolicyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PolicyError';
  }
}
