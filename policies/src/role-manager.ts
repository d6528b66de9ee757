import type { RoleManager } from 'casbin';

/**
 * Casbin's role manager for flat grouping rows: `hasLink(a, b, domain)` is true exactly
 * when the row `a, b, domain` was loaded. No inheritance chains (every Canopy grouping is
 * one hop: subject → role, workspace → org, role → action) and, unlike Casbin's default,
 * no "equal names are linked" rule, so a name can only match through a row.
 *
 * Casbin's default manager allocates per link and per lookup (and remembers every domain
 * it is asked about); this one is a map of sets, which keeps a rebuild of tens of
 * thousands of rows in tens of milliseconds.
 */
const DONE: Promise<void> = Promise.resolve();

export class FlatRoleManager implements RoleManager {
  private readonly links = new Map<string, Set<string>>();

  async clear(): Promise<void> {
    this.links.clear();
  }

  /** Loads one grouping row synchronously: how a static policy fills its managers. */
  link(name1: string, name2: string, domain = ''): void {
    const key = `${domain}\0${name1}`;
    let roles = this.links.get(key);
    if (!roles) this.links.set(key, (roles = new Set()));
    roles.add(name2);
  }

  addLink(name1: string, name2: string, ...domain: string[]): Promise<void> {
    this.link(name1, name2, domainOf(domain));
    return DONE;
  }

  async deleteLink(name1: string, name2: string, ...domain: string[]): Promise<void> {
    this.links.get(linkKey(name1, domain))?.delete(name2);
  }

  async hasLink(name1: string, name2: string, ...domain: string[]): Promise<boolean> {
    return this.syncedHasLink(name1, name2, ...domain);
  }

  syncedHasLink(name1: string, name2: string, ...domain: string[]): boolean {
    return this.links.get(linkKey(name1, domain))?.has(name2) ?? false;
  }

  async getRoles(name: string, ...domain: string[]): Promise<string[]> {
    return [...(this.links.get(linkKey(name, domain)) ?? [])];
  }

  async getUsers(name: string, ...domain: string[]): Promise<string[]> {
    const dom = domainOf(domain);
    const users: string[] = [];
    for (const [key, roles] of this.links) {
      const [d, user] = splitKey(key);
      if (d === dom && roles.has(name)) users.push(user);
    }
    return users;
  }

  async getDomains(name: string): Promise<string[]> {
    return [...this.links.keys()].map(splitKey).filter(([, user]) => user === name).map(([d]) => d);
  }

  async getAllDomains(): Promise<string[]> {
    return [...new Set([...this.links.keys()].map((key) => splitKey(key)[0]))];
  }

  async printRoles(): Promise<void> {}
}

function domainOf(domain: string[]): string {
  if (domain.length > 1) throw new Error('a grouping row has at most one domain');
  return domain[0] ?? '';
}

// NUL cannot occur in Postgres text, so it separates the domain from the name.
const linkKey = (name: string, domain: string[]): string => `${domainOf(domain)}\0${name}`;

function splitKey(key: string): [domain: string, name: string] {
  const at = key.indexOf('\0');
  return [key.slice(0, at), key.slice(at + 1)];
}
