import { parseArgs } from 'node:util';
import { describeConfig } from '@canopy/core';
import type { CommandContext } from '../io.js';

export const configHelp = `Usage: canopy config

Prints every setting Canopy reads from the environment, with its default and meaning.`;

export async function config(ctx: CommandContext, argv: string[]): Promise<void> {
  parseArgs({ args: argv, options: {}, strict: true, allowPositionals: false });
  ctx.print(describeConfig());
  await Promise.resolve();
}
