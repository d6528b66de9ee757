/** A query-string value: absent, one value, or a repeated parameter. */
export type QueryValue = string | number | boolean | undefined | null | readonly string[];
export type QueryParams = Record<string, QueryValue>;

/** `{ a: '1', b: ['x', 'y'], c: undefined }` → `a=1&b=x&b=y` (keys in insertion order; empty strings dropped). */
export function buildQuery(params: QueryParams): string {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      for (const v of value as readonly string[]) if (v !== '') out.append(key, v);
    } else {
      out.append(key, String(value));
    }
  }
  return out.toString();
}

/** The file name in a `Content-Disposition` header, if any. */
export function filenameFromDisposition(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header);
  return plain?.[1]?.trim() ?? null;
}
