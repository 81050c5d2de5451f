#!/usr/bin/env node
/**
 * The `tiedet` command line. Each command lives in its own file under tools/ and exports a yargs CommandModule;
 * this file only composes them.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { evalCommand } from './eval.js';
import { infoCommand } from './info.js';
import { occlusionReportCommand } from './occlusion-report.js';
import { occlusionStatsCommand } from './occlusion-stats.js';
import { paramsCommand } from './params.js';
import { renderCommand } from './render.js';
import { browseDatasetCommand } from './browse-dataset.js';
import { makeSyntheticCommand } from './make-synthetic.js';
import { analyzeLogsCommand } from './analyze-logs.js';
import { trainCommand } from './train.js';
import { testCommand } from './test.js';
import { inferCommand } from './infer.js';
import { CliError, describeError } from './cli-error.js';

export async function main(argv: string[]): Promise<number> {
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
    .command(evalCommand)
    .command(paramsCommand)
    .command(occlusionStatsCommand)
    .command(occlusionReportCommand)
    .command(renderCommand)
    .command(browseDatasetCommand)
    .command(makeSyntheticCommand)
    .command(analyzeLogsCommand)
    .command(trainCommand)
    .command(testCommand)
    .command(inferCommand)
    .demandCommand(1, 'Name a command; `tiedet --help` lists them.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err, y) => {
      // Errors thrown by a handler (CliError or not) are rethrown and reported once by the catch below; yargs
      // would otherwise also reject parseAsync with them and the message would be printed twice.
      if (err) throw err;
      // A usage error (unknown option, bad choice…): stop here, so that no command handler runs.
      throw new CliError(`${msg}\nRun \`tiedet --help\` for usage.`, 2);
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`tiedet: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`tiedet: ${describeError(e)}\n`);
    if (process.env.TIEDET_DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    return 1;
  }
  return 0;
}

// Worker threads of the wasm backend never keep the process alive (see src/engine/wasm-threads.ts), but pending
// handles from other libraries might: exit explicitly with the command's code once it is done.
const code = await main(hideBin(process.argv));
process.exit(code);
