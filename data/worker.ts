/**
 * Entry script of a data worker thread (started by data/worker-pool.ts): receives `{ id, task }` messages, runs
 * the sample pipeline (data/pipeline.ts: decode with sharp, resize, flip, normalise, pad, masks) and posts the
 * result back with its typed arrays transferred, not copied. Errors are sent back as plain data and rebuilt as
 * the same error classes on the main thread. No TF.js is loaded here.
 */
import { parentPort } from 'node:worker_threads';
import { resultTransferList, runSample, type SampleTask } from './pipeline.js';
import { serializeError } from './worker-errors.js';

const port = parentPort;
if (!port) throw new Error('data/worker: this script runs in a worker thread (started by data/worker-pool)');

port.on('message', (msg: { id: number; task: SampleTask }) => {
  runSample(msg.task).then(
    (result) => port.postMessage({ id: msg.id, ok: true, result }, resultTransferList(result)),
    (e: unknown) => port.postMessage({ id: msg.id, ok: false, error: serializeError(e) }),
  );
});
