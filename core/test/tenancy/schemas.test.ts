import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createWorkspaceKeySchema, expiresAtSchema, instantSchema } from '../../src/tenancy/index.js';
import * as tenancy from '../../src/tenancy/index.js';

describe('tenancy schemas', () => {
  it('all convert to JSON Schema on their input side, for the OpenAPI document', () => {
    const schemas = Object.entries(tenancy).filter(([, v]) => v instanceof z.ZodType) as Array<[string, z.ZodType]>;
    expect(schemas.length).toBeGreaterThan(20);
    for (const [, schema] of schemas) expect(() => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' })).not.toThrow();
  });

  it('read instants as epoch milliseconds, digit strings or ISO strings', () => {
    const at = Date.UTC(2030, 0, 2, 3, 4, 5);
    expect(instantSchema.parse(at).getTime()).toBe(at);
    expect(instantSchema.parse(String(at)).getTime()).toBe(at);
    expect(instantSchema.parse('2030-01-02T03:04:05Z').getTime()).toBe(at);
    expect(instantSchema.safeParse('next tuesday').success).toBe(false);
    expect(expiresAtSchema.parse(null)).toBeNull();
    expect(expiresAtSchema.safeParse('2001-01-01T00:00:00Z').success).toBe(false);
  });

  it('order and deduplicate key scopes', () => {
    expect(createWorkspaceKeySchema.parse({ name: 'k', scopes: ['read', 'ingest', 'read'] }).scopes).toEqual(['ingest', 'read']);
  });
});
