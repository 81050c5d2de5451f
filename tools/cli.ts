#!/usr/bin/env node
/**
 * The `tiedet` command line. Each command lives in its own file under tools/ and exports a yargs CommandModule;
 * this file only composes them.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
import { convertCommand } from './convert.js';
import { inferCommand } from './infer.js';
import { printConfigCommand } from './print-config.js';
import { analyzeFiltersCommand } from './analyze-filters.js';
import { CliError, describeError } from './cli-error.js';
import { checkOptionValues, explainUsage, normalizeArgv, type OptionKinds } from './cli-guards.js';
import { listConfigs } from '../configs/names.js';

export async function main(argv: string[]): Promise<number> {
  // The option kinds of the parser, read when the middleware runs (after the command's builder added its options).
  const kindsOf = (): OptionKinds => (parser as unknown as { getOptions(): OptionKinds }).getOptions();
  const parser: ReturnType<typeof yargs> = yargs(normalizeArgv(argv))
    .scriptName('tiedet')
    .usage('$0 <command> [options]\n\nObject detection and instance segmentation with Tied Block Convolution.')
    .middleware((args): void => checkOptionValues(args, kindsOf()))
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
    .command(convertCommand)
    .command(analyzeFiltersCommand)
    .epilogue(
      [
        'Examples:',
        '  tiedet make-synthetic --preset tiny --out work_dirs/synthetic-tiny   the small synthetic occlusion set',
        '  tiedet train mask-rcnn_tiedresnet_synthetic_tiny                       train on it (checkpoints, log, eval)',
        '  tiedet eval --gt val.json --results dets.json --iou segm               pycocotools-identical COCO AP',
        '',
        '`tiedet COMMAND --help` shows each command\'s options and examples. The demo: `npm run demo`.',
      ].join('\n'),
    )
    .command(inferCommand)
    .command(printConfigCommand)
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
      if (/^Name a command/.test(msg)) y.showHelp((s: string) => process.stderr.write(`${s}\n\n`));
      const known = Object.keys(kindsOf().key ?? {});
      throw new CliError(explainUsage(msg, argv, known, listConfigs()), 2);
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

// Run when this file is the program (`tiedet …`, `node dist/tools/cli.js …`), not when a test imports `main`.
// Worker threads of the wasm backend never keep the process alive (see src/engine/wasm-threads.ts), but pending
// handles from other libraries might: exit explicitly with the command's code once it is done.
const entry = process.argv[1];
let isMain = false;
try {
  isMain = entry !== undefined && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
} catch {
  isMain = false;
}
if (isMain) {
  const code = await main(hideBin(process.argv));
  process.exit(code);
}
