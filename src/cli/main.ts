#!/usr/bin/env node
// dromedar: the command line. Each command is a small module; this file only parses
// the words, prints help, and turns any failure into one readable line and exit 1.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DromedarError, describe } from '../util/errors.js';
import { commands, type Command } from './commands.js';

const USAGE = `dromedar — a SQL gateway that sizes the Apache Drill cluster to each query

Usage: dromedar <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`).join('\n')}

Run 'dromedar <command> --help' for the options of a command.`;

async function main(argv: string[]): Promise<number> {
  const words = [...argv];
  if (words.length === 0 || words[0] === '--help' || words[0] === '-h' || words[0] === 'help') {
    console.log(USAGE);
    return words.length === 0 ? 1 : 0;
  }
  const command = findCommand(words);
  if (!command) throw new DromedarError('usage', `unknown command '${words.join(' ')}'; run 'dromedar --help'`);
  const rest = words.slice(command.name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpFor(command));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options as ParseArgsConfig['options'], allowPositionals: true, strict: true });
  } catch (err) {
    throw new DromedarError('usage', `${describe(err)}; run 'dromedar ${command.name} --help'`);
  }
  return command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
}

function findCommand(words: string[]): Command | undefined {
  return commands.find((c) => c.name.split(' ').every((part, i) => words[i] === part));
}

function helpFor(command: Command): string {
  const options = Object.entries(command.options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ' <value>' : ''}`;
    return `  ${flag.padEnd(26)} ${o.description}`;
  });
  return `Usage: dromedar ${command.name} ${command.usage}\n\n${command.summary}\n\nOptions:\n${[...options, `  ${'--help'.padEnd(26)} show this help`].join('\n')}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const message = err instanceof DromedarError ? err.message : `unexpected error: ${describe(err)}`;
    process.stderr.write(`dromedar: ${message}\n`);
    process.exitCode = 1;
  },
);
