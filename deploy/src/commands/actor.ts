import type { Actor } from '@canopy/core';

/** Who the audit log names for a change made with the CLI: an operator, outside the API. */
export const CLI_ACTOR = { type: 'system', id: 'cli' } as const satisfies Actor;
