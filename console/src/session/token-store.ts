/**
 * The personal access token lives in sessionStorage: it survives reloads of this tab and
 * is gone when the tab closes, and no other tab or origin sees it.
 */
const KEY = 'canopy.token';

export interface TokenStore {
  read(): string | null;
  write(token: string): void;
  clear(): void;
}

export function createTokenStore(storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>): TokenStore {
  return {
    read: () => storage.getItem(KEY),
    write: (token) => storage.setItem(KEY, token.trim()),
    clear: () => storage.removeItem(KEY),
  };
}
