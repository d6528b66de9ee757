import type { ChainableCommander, Redis } from 'ioredis';

type ScriptCall = (...keysAndArgs: Array<string | number>) => Promise<unknown>;

/** A Lua script run by EVALSHA (ioredis loads it on NOSCRIPT), on a connection or in a pipeline. */
export interface LuaScript {
  run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown>;
  /** Queues the script on a pipeline created from a connection it was run or `define`d on. */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: ReadonlyArray<string | number>): void;
  /** Makes the script callable in pipelines of this connection. */
  define(redis: Redis): void;
}

/**
 * Scripts are ioredis custom commands, so each runs as one atomic EVALSHA and is sent in
 * full only when the server does not know it yet (after a restart, for example).
 */
export function luaScript(name: string, source: string): LuaScript {
  const define = (redis: Redis): ScriptCall => {
    const commands = redis as unknown as Record<string, ScriptCall | undefined>;
    if (typeof commands[name] !== 'function') redis.defineCommand(name, { lua: source });
    return (commands[name] as ScriptCall).bind(redis);
  };
  // Without a fixed numberOfKeys, ioredis takes the key count as the first argument.
  return {
    run: (redis, keys, args) => define(redis)(keys.length, ...keys, ...args),
    queue(pipeline, keys, args) {
      // A pipeline's command returns the pipeline itself; results come from its exec().
      void (pipeline as unknown as Record<string, (...a: Array<string | number>) => unknown>)[name]!(keys.length, ...keys, ...args);
    },
    define(redis) {
      define(redis);
    },
  };
}
