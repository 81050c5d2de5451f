/**
 * Child process for the Ctrl-C test (test/train/loop.test.ts): trains the tiny net in `argv[2]` with a long
 * schedule, prints READY after iteration 3 and, when SIGINT arrives, lets `train` save and return; prints the
 * result as the last stdout line.
 */
import { initEngine } from '../../src/engine/index.js';
import { Rng } from '../../src/nn/rng.js';
import { sigintAbort, train } from '../../src/train/loop.js';
import { TinyNet, tinyData, tinyLoss, tinyOptimizer } from './tiny.js';

await initEngine({ backend: 'cpu' });
const workDir = process.argv[2]!;
const net = new TinyNet(1);
const opt = tinyOptimizer(net);
const noise = new Rng(36);
const stop = sigintAbort();
const result = await train({
  model: net,
  lossFn: tinyLoss(net, noise),
  data: tinyData(4),
  optimizer: opt,
  schedule: { baseLr: 0.05, warmup: null, milestones: [], gamma: 0.1, epochs: 100_000 },
  workDir,
  rngs: { noise },
  signal: stop.signal,
  checkpoint: { everyEpochs: 0 },
  progress: process.stderr,
  logEvery: 1000,
  onIteration: (i) => {
    if (i.iteration === 3) process.stdout.write('READY\n');
  },
});
stop.dispose();
process.stdout.write(`${JSON.stringify(result)}\n`);
