/**
 * A pool of data worker threads (node:worker_threads) running data/pipeline.ts `runSample` off the main thread.
 *
 * - `run(task)` queues a sample; each worker has at most `perWorker` samples in flight (default 2: one decoding
 *   in sharp's threads while the other is transformed), the rest wait in a FIFO queue. Results are matched by
 *   id, so which worker ran a sample never changes the result.
 * - Results come back with their buffers transferred (no copy); tasks are structured-cloned.
 * - Workers are `unref`'d while idle, so a forgotten pool never keeps the process alive, and `ref`'d while they
 *   have work, so a pending result is never lost to an early exit. `close()` terminates them.
 * - A worker that crashes or exits rejects its in-flight samples with an error saying so (no hang); the next
 *   sample starts a new worker.
 * - Runs from source (`.ts` under tsx / vitest: tsx's loader is registered inside the worker) and from the
 *   compiled `dist/` (`.js`), chosen by this module's own file extension.
 */
import { Worker } from 'node:worker_threads';
import type { SampleResult, SampleTask } from './pipeline.js';
import { deserializeError, type SerializedError } from './worker-errors.js';

interface Pending {
  id: number;
  task: SampleTask;
  resolve: (r: SampleResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Pending>;
  dead: boolean;
}

type Reply = { id: number; ok: true; result: SampleResult } | { id: number; ok: false; error: SerializedError };

/**
 * How to start data/worker in this build. Compiled (`dist/…/worker-pool.js`): the `.js` worker next to this file.
 * From source (`.ts` under tsx / vitest): Node 20 ignores `execArgv: ['--import', 'tsx']` for a worker's own entry
 * ("Unknown file extension .ts"), so a two-line bootstrap registers tsx's loader inside the worker first and then
 * imports `worker.ts` (this also works on newer Node versions).
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!/\.[cm]?ts$/.test(new URL(here).pathname)) return new Worker(new URL('./worker.js', here));
  const entry = new URL('./worker.ts', here).href;
  let tsxApi = 'tsx/esm/api';
  try {
    tsxApi = import.meta.resolve(tsxApi);
  } catch {
    // the bare specifier, resolved from the working directory
  }
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true });
}

export class WorkerPool {
  private readonly slots: (Slot | undefined)[];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly perWorker = 2,
  ) {
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`WorkerPool: size must be a positive integer, got ${size}`);
    this.slots = new Array<Slot | undefined>(size);
  }

  /** Runs one sample in a worker. */
  run(task: SampleTask): Promise<SampleResult> {
    if (this.closed) return Promise.reject(new Error('WorkerPool: run() after close()'));
    return new Promise<SampleResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates every worker; queued and in-flight samples are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('WorkerPool closed');
    for (const p of this.queue.splice(0)) p.reject(err);
    const exits: Promise<number>[] = [];
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (!s) continue;
      s.dead = true;
      for (const p of s.inFlight.values()) p.reject(err);
      s.inFlight.clear();
      exits.push(s.worker.terminate());
      this.slots[i] = undefined;
    }
    await Promise.all(exits);
  }

  private spawn(index: number): Slot {
    const worker = startWorker();
    const slot: Slot = { worker, inFlight: new Map(), dead: false };
    worker.on('message', (msg: Reply) => {
      const p = slot.inFlight.get(msg.id);
      if (!p) return;
      slot.inFlight.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(deserializeError(msg.error));
      this.dispatch();
    });
    const fail = (why: string): void => {
      if (slot.dead) return;
      slot.dead = true;
      if (this.slots[index] === slot) this.slots[index] = undefined;
      const err = new Error(`data worker ${index} ${why}`);
      for (const p of slot.inFlight.values()) p.reject(err);
      slot.inFlight.clear();
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (e: Error) => fail(`crashed: ${e.message}`));
    worker.on('messageerror', (e: Error) => fail(`sent a message that could not be read: ${e.message}`));
    worker.on('exit', (code) => fail(`exited (code ${code}) with work in progress`));
    worker.unref();
    return slot;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let best: Slot | undefined;
      for (let i = 0; i < this.slots.length; i++) {
        let s = this.slots[i];
        if (!s) s = this.slots[i] = this.spawn(i);
        if (s.inFlight.size < this.perWorker && (!best || s.inFlight.size < best.inFlight.size)) best = s;
      }
      if (!best) break;
      const p = this.queue.shift()!;
      best.inFlight.set(p.id, p);
      best.worker.postMessage({ id: p.id, task: p.task });
    }
    for (const s of this.slots) {
      if (!s || s.dead) continue;
      if (s.inFlight.size > 0) s.worker.ref();
      else s.worker.unref();
    }
  }
}
