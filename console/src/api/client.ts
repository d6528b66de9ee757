import { buildQuery, filenameFromDisposition, type QueryParams } from './query';

/** The API's answer to a failed request: `{ error: { code, message, field? } }` and its HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(init: { status: number; code: string; message: string; field?: string | undefined }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
  }

  get forbidden(): boolean {
    return this.status === 403;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}

export interface Download {
  blob: Blob;
  filename: string;
  contentType: string;
}

export interface ApiClient {
  get<T>(path: string, query?: QueryParams, init?: { signal?: AbortSignal }): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** A file export (`format=csv`): the body exactly as the API sent it. */
  download(path: string, query?: QueryParams): Promise<Download>;
}

export interface ApiClientOptions {
  /** where `/api/v1` lives; '' for the same origin */
  baseUrl: string;
  token: string;
  /** called on a 401, so the session can end */
  onUnauthorized?: () => void;
  fetch?: typeof fetch;
}

export const API_BASE = '/api/v1';

async function toError(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let field: string | undefined;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; field?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
    field = body.error?.field;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError({ status: res.status, code, message, field });
}

/** A thin fetch wrapper: bearer token, JSON in and out, API errors as `ApiError`. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const url = (path: string, query?: QueryParams): string => {
    const qs = query ? buildQuery(query) : '';
    return `${options.baseUrl}${API_BASE}${path}${qs ? `?${qs}` : ''}`;
  };
  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({ Authorization: `Bearer ${options.token}`, ...extra });

  async function request(path: string, init: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await doFetch(path, init);
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError({ status: 0, code: 'network', message: 'The query API cannot be reached. Check that it is running.' });
    }
    if (!res.ok) {
      const error = await toError(res);
      if (res.status === 401) options.onUnauthorized?.();
      throw error;
    }
    return res;
  }

  return {
    async get<T>(path: string, query?: QueryParams, init?: { signal?: AbortSignal }): Promise<T> {
      const res = await request(url(path, query), { headers: headers({ Accept: 'application/json' }), ...(init?.signal ? { signal: init.signal } : {}) });
      return (await res.json()) as T;
    },
    async send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const res = await request(url(path), {
        method,
        headers: headers(body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (res.status === 204) return undefined as T;
      return (await res.json()) as T;
    },
    async download(path: string, query?: QueryParams): Promise<Download> {
      const res = await request(url(path, query), { headers: headers() });
      const blob = await res.blob();
      const fallback = path.split('/').filter(Boolean).join('-');
      return { blob, filename: filenameFromDisposition(res.headers.get('Content-Disposition')) ?? `${fallback}.csv`, contentType: res.headers.get('Content-Type') ?? blob.type };
    },
  };
}
