import { loadConfig } from '@canopy/core';
import { bootstrap, bootstrapHelp } from './commands/bootstrap.js';
import { config, configHelp } from './commands/config.js';
import { keys, keysHelp } from './commands/keys.js';
import { members, membersHelp } from './commands/members.js';
import { migrate, migrateHelp } from './commands/migrate.js';
import { users, usersHelp } from './commands/users.js';
import { CliError, describeError, usageError } from './errors.js';
import type { CommandContext } from './io.js';

interface Command {
  summary: string;
  help: string;
  run(ctx: CommandContext, argv: string[]): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  migrate: { summary: 'apply ClickHouse and Postgres migrations', help: migrateHelp, run: migrate },
  bootstrap: { summary: 'create an organization, its workspaces, first keys, owner and billing user', help: bootstrapHelp, run: bootstrap },
  keys: { summary: 'create, list and revoke workspace API keys', help: keysHelp, run: keys },
  users: { summary: 'add a user, optionally to an organization', help: usersHelp, run: users },
  members: { summary: "change a member's role in an organization", help: membersHelp, run: members },
  config: { summary: 'list the environment variables Canopy reads', help: configHelp, run: config },
};

const MAIN_HELP = `Usage: canopy <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run \`canopy <command> --help\` for a command's options. Every command reads the same
CANOPY_* environment variables as the services (see \`canopy config\`).`;

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Node's parseArgs reports bad command lines as TypeErrors with an ERR_PARSE_ARGS_* code. */
function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Runs one CLI invocation and returns its exit code; expected errors never print a stack. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${MAIN_HELP}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`canopy: unknown command ${JSON.stringify(name)}\n\n${MAIN_HELP}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${command.help}\n`);
    return 0;
  }
  let postgresUrl: string | undefined;
  try {
    const cfg = loadConfig(io.env);
    postgresUrl = cfg.postgres.url;
    await command.run({ config: cfg, print: (line) => io.stdout(`${line}\n`) }, rest);
    return 0;
  } catch (err) {
    const known = isParseArgsError(err) ? usageError(err.message, name) : describeError(err, { postgresUrl });
    if (known instanceof CliError) {
      io.stderr(`canopy ${name}: ${known.message}\n`);
      return known.exitCode;
    }
    io.stderr(`canopy ${name}: unexpected error\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
