import { ClickHouseError } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { classifyClickHouseError } from '../src/clickhouse/client.js';

const classify = (err: unknown): string => classifyClickHouseError(err, 'insert').code;

describe('ClickHouse error classification', () => {
  it('refuses data ClickHouse 18.16 answered with a data error', () => {
    expect(classify(new Error("Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected { before: this is not json, e.what() = DB::Exception"))).toBe('clickhouse_rejected');
    expect(classify(new Error('Code: 60, e.displayText() = DB::Exception: Table canopy.spans_local doesn\'t exist., e.what() = DB::Exception'))).toBe('clickhouse_rejected');
  });

  it('retries what 18.16 answered with a transient code: a shard down, a timeout, ZooKeeper lost', () => {
    expect(classify(new Error('Code: 279, e.displayText() = DB::NetException: All connection tries failed. Log: ...'))).toBe('clickhouse_unavailable');
    expect(classify(new Error('Code: 159, e.displayText() = DB::Exception: Synchronous distributed insert timeout exceeded.'))).toBe('clickhouse_unavailable');
    expect(classify(new Error('Code: 242, e.displayText() = DB::Exception: Table is in readonly mode'))).toBe('clickhouse_unavailable');
  });

  it('reads the code current servers send through the client', () => {
    expect(classify(new ClickHouseError({ message: 'Cannot parse input', code: '27', type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED' }))).toBe('clickhouse_rejected');
    expect(classify(new ClickHouseError({ message: 'too many parts', code: '252', type: 'TOO_MANY_PARTS' }))).toBe('clickhouse_unavailable');
  });

  it('retries failures that carry no server answer: the client timeout, a dropped connection', () => {
    expect(classify(new Error('Timeout error.'))).toBe('clickhouse_unavailable');
    expect(classify(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }))).toBe('clickhouse_unavailable');
    expect(classify(new Error('<html>502 Bad Gateway</html>'))).toBe('clickhouse_unavailable');
  });
});
