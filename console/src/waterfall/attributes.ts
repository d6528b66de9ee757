/**
 * Attribute values as the API sends them, typed as sent: strings, numbers (int or double),
 * booleans, arrays of those, and objects for maps. Pure.
 */
export type AttributeType = 'string' | 'int' | 'double' | 'bool' | 'array' | 'map' | 'null';

export interface TypedAttribute {
  key: string;
  type: AttributeType;
  /** element type of an array, when all elements agree */
  elementType?: AttributeType;
  display: string;
}

export function attributeType(value: unknown): AttributeType {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'double';
  if (typeof value === 'bigint') return 'int';
  if (Array.isArray(value)) return 'array';
  return 'map';
}

function display(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** An attribute map → rows sorted by key, each with its type. */
export function typedAttributes(map: Readonly<Record<string, unknown>> | undefined): TypedAttribute[] {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => {
      const type = attributeType(value);
      const row: TypedAttribute = { key, type, display: display(value) };
      if (type === 'array') {
        const types = new Set((value as unknown[]).map(attributeType));
        if (types.size === 1) row.elementType = [...types][0]!;
        else if (types.size === 2 && types.has('int') && types.has('double')) row.elementType = 'double';
      }
      return row;
    });
}

/** `array` of `int` → `int[]`. */
export function typeLabel(a: Pick<TypedAttribute, 'type' | 'elementType'>): string {
  return a.type === 'array' ? `${a.elementType ?? 'any'}[]` : a.type;
}
