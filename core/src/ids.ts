import { randomBytes } from 'node:crypto';

/** Opaque, URL-safe, sortable-enough ids with a readable type prefix (`org_…`, `ws_…`). */
export function newId(prefix: 'org' | 'ws' | 'key' | 'usr' | 'batch' | 'inv' | 'tok' | 'dl'): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}
