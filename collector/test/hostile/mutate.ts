import { gzipSync } from 'node:zlib';

/** A small seeded generator (mulberry32): the same seed gives the same mutants on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Mutant {
  /** what was done, for the failure message */
  how: string;
  body: Buffer;
  /** the mutant is gzip-compressed (sent with Content-Encoding: gzip) */
  gzip: boolean;
}

/** Values a JSON token can be swapped for: wrong types, extremes, escapes. */
const JSON_SWAPS = ['null', 'true', '[]', '{}', '""', '-1', '1e400', '18446744073709551616', '"\\ud800"', '"zz"', '[[[[[[[[]]]]]]]]', '{"__proto__":{}}', '"0000000000000000"'];

/**
 * One mutant of `seed`: truncation, byte flips, inserted garbage, an overwritten run, a
 * duplicated slice, a splice with `other`, (JSON) a token swapped for another type, or
 * any of those gzip-compressed and then damaged.
 */
export function mutate(seed: Buffer, other: Buffer, random: () => number): Mutant {
  const int = (n: number): number => Math.floor(random() * n);
  const at = (): number => int(seed.length + 1);
  const ops: Array<() => Mutant> = [
    () => {
      const n = at();
      return { how: `truncate at ${n}`, body: seed.subarray(0, n), gzip: false };
    },
    () => {
      const body = Buffer.from(seed);
      const flips = 1 + int(8);
      for (let i = 0; i < flips && body.length; i++) body[int(body.length)] ^= 1 + int(255);
      return { how: `flip ${flips} bytes`, body, gzip: false };
    },
    () => {
      const n = at();
      const garbage = Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)));
      return { how: `insert ${garbage.length} garbage bytes at ${n}`, body: Buffer.concat([seed.subarray(0, n), garbage, seed.subarray(n)]), gzip: false };
    },
    () => {
      const body = Buffer.from(seed);
      const start = int(body.length);
      const len = 1 + int(32);
      body.fill(int(256), start, Math.min(body.length, start + len));
      return { how: `overwrite ${len} bytes at ${start}`, body, gzip: false };
    },
    () => {
      const start = int(seed.length);
      const end = start + int(seed.length - start + 1);
      const n = at();
      return { how: `duplicate [${start},${end}) at ${n}`, body: Buffer.concat([seed.subarray(0, n), seed.subarray(start, end), seed.subarray(n)]), gzip: false };
    },
    () => {
      const a = int(seed.length + 1);
      const b = int(other.length + 1);
      return { how: `splice seed[0,${a}) + other[${b},)`, body: Buffer.concat([seed.subarray(0, a), other.subarray(b)]), gzip: false };
    },
    () => {
      const text = seed.toString('utf8');
      const tokens = [...text.matchAll(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/g)];
      if (tokens.length === 0) return { how: 'no token to swap', body: seed, gzip: false };
      const t = tokens[int(tokens.length)]!;
      const swap = JSON_SWAPS[int(JSON_SWAPS.length)]!;
      const body = Buffer.from(text.slice(0, t.index) + swap + text.slice(t.index + t[0].length));
      return { how: `swap token ${JSON.stringify(t[0].slice(0, 40))} at ${t.index} for ${swap}`, body, gzip: false };
    },
    () => {
      const body = Buffer.from(gzipSync(seed));
      const flips = int(4);
      for (let i = 0; i < flips; i++) body[int(body.length)] ^= 1 + int(255);
      const cut = random() < 0.3 ? int(body.length) : body.length;
      return { how: `gzip, flip ${flips} bytes, keep ${cut} of ${body.length}`, body: body.subarray(0, cut), gzip: true };
    },
  ];
  return ops[int(ops.length)]!();
}
