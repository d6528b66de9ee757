/** One colour per service, distinct within a trace and stable for a name. Pure. */
export const SERVICE_PALETTE = [
  '#3b82f6', '#f59e0b', '#10b981', '#8b5cf6', '#ec4899', '#06b6d4',
  '#84cc16', '#f97316', '#6366f1', '#14b8a6', '#a855f7', '#eab308',
] as const;

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/**
 * Colours for `services`: each takes its hashed palette slot, moving on to the next free
 * slot on a clash, so up to 12 services in one trace never share a colour.
 */
export function serviceColors(services: readonly string[]): Map<string, string> {
  const taken = new Set<number>();
  const out = new Map<string, string>();
  for (const s of [...new Set(services)].sort()) {
    let slot = hash(s) % SERVICE_PALETTE.length;
    if (taken.size < SERVICE_PALETTE.length) {
      while (taken.has(slot)) slot = (slot + 1) % SERVICE_PALETTE.length;
    }
    taken.add(slot);
    out.set(s, SERVICE_PALETTE[slot]!);
  }
  return out;
}

export const ERROR_COLOR = '#dc2626';
