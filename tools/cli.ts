#!/usr/bin/env node
/**
 * The `tiedet` command line. Each command lives in its own file under tools/ and exports a yargs CommandModule;
 * this file only composes them.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { infoCommand } from './info.js';
import { CliError } from './cli-error.js';

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const parser = yargs(argv)
    .scriptName('tiedet')
    .usage('$0 <command> [options]\n\nObject detection and instance segmentation with Tied Block Convolution.')
    .option('backend', {
      type: 'string',
      choices: ['auto', 'tensorflow', 'wasm', 'cpu'] as const,
      describe: 'TF.js backend (default: TIEDET_BACKEND or auto = tensorflow → wasm → cpu)',
      global: true,
    })
    .option('threads', {
      type: 'number',
      describe: 'wasm threads (default: TIEDET_THREADS or the number of logical cores)',
      global: true,
    })
    .command(infoCommand)
    .demandCommand(1, 'Name a command; `tiedet --help` lists them.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err, y) => {
      if (err && !(err instanceof CliError)) throw err;
      process.stderr.write(`tiedet: ${err ? err.message : msg}\n`);
      if (!err) process.stderr.write('Run `tiedet --help` for usage.\n');
      code = err instanceof CliError ? err.exitCode : 2;
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`tiedet: ${e.message}\n`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`tiedet: ${msg}\n`);
    if (process.env.TIEDET_DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    return 1;
  }
  return code;
}

// Worker threads of the wasm backend never keep the process alive (see src/engine/wasm-threads.ts), but pending
// handles from other libraries might: exit explicitly with the command's code once it is done.
const code = await main(hideBin(process.argv));
process.exit(code);
