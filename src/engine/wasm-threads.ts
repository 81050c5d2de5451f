/**
 * Multi-threaded TF.js wasm in Node.
 *
 * `@tensorflow/tfjs-backend-wasm` 4.22 refuses threads in Node (tfjs#3830): its pthread worker script is handed to
 * Emscripten as a `blob:` URL, which `worker_threads` rejects (ERR_WORKER_PATH). Instead of editing files in
 * node_modules, we read the backend's Node bundle, apply a few checked text substitutions, and compile the result
 * as if it lived at the original path (so `__dirname`, the `.wasm` files and `require` resolve exactly as before).
 * Nothing is written into node_modules; the worker script goes to a content-addressed file in the OS temp dir.
 *
 * The substitutions (each must match exactly once, otherwise we fail loudly and name it):
 *  1. locateFile('*.worker.js') returns a real file path instead of a blob URL;
 *  2. the main script for workers is `wasm-out/tfjs-backend-wasm-threaded-simd.js` (defines the same factory);
 *  3. the pthread pool holds `threads` workers instead of a fixed 8, and the core count XNNPACK sizes its pool
 *     from is reported so that the requested thread count is honoured;
 *  4. worker threads never keep the process alive (unref), so a CLI run exits by itself.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

export interface WasmBackendModule {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  setWasmPaths(prefix: string | Record<string, string>, usePlatformFetch?: boolean): void;
  version_wasm: string;
  BackendWasm: unknown;
}

interface Substitution {
  name: string;
  find: string;
  replace: string;
}

const require = createRequire(import.meta.url);

function substitutions(workerPath: string, mainScriptPath: string, poolSize: number): Substitution[] {
  return [
    {
      name: 'worker script as a file',
      find:
        "var response = wasmWorkerContents.replace(/\\n/g, '\\\\n');\n" +
        "                                    var blob = new Blob([response], { type: 'application/javascript' });\n" +
        '                                    return URL.createObjectURL(blob);',
      replace: `return ${JSON.stringify(workerPath)};`,
    },
    {
      name: 'main script for workers',
      find:
        'factoryConfig.mainScriptUrlOrBlob = new Blob(["var WasmBackendModuleThreadedSimd = " +\n' +
        "                                        wasmFactoryThreadedSimd.toString()], { type: 'text/javascript' });",
      replace: `factoryConfig.mainScriptUrlOrBlob = ${JSON.stringify(mainScriptPath)};`,
    },
    {
      name: 'pthread pool size',
      find: 'var pthreadPoolSize = 8;',
      replace: `var pthreadPoolSize = ${poolSize};`,
    },
    {
      // XNNPACK's pool is sized from the logical core count (halved, assuming hyper-threads); report enough cores
      // for the requested pool so that setThreadsCount(n) is honoured.
      name: 'logical cores seen by the threadpool',
      find: 'function _emscripten_num_logical_cores() { if (ENVIRONMENT_IS_NODE)\n                return require$$4.cpus().length;',
      replace: `function _emscripten_num_logical_cores() { if (ENVIRONMENT_IS_NODE)\n                return ${2 * poolSize};`,
    },
    {
      name: 'idle workers do not keep the process alive',
      find: 'worker = new Worker(pthreadMainJs); PThread.unusedWorkers.push(worker);',
      replace: 'worker = new Worker(pthreadMainJs); worker.unref(); PThread.unusedWorkers.push(worker);',
    },
    {
      name: 'running workers do not keep the process alive',
      find: 'worker.runPthread = function () { if (ENVIRONMENT_IS_NODE) {\n                worker.ref();',
      replace: 'worker.runPthread = function () { if (ENVIRONMENT_IS_NODE) {\n                worker.unref();',
    },
  ];
}

/** Apply the substitutions to the backend bundle's text; throws naming the first that does not match once. */
export function patchWasmBundle(source: string, workerPath: string, mainScriptPath: string, poolSize: number): string {
  let out = source;
  for (const s of substitutions(workerPath, mainScriptPath, poolSize)) {
    const first = out.indexOf(s.find);
    if (first < 0 || out.indexOf(s.find, first + 1) >= 0) {
      throw new Error(
        `tiedet engine: cannot enable wasm threads: the patch "${s.name}" does not apply to ` +
          `@tensorflow/tfjs-backend-wasm (found ${first < 0 ? 0 : 'more than 1'} matches). ` +
          'tiedet is tested with @tensorflow/tfjs-backend-wasm 4.22.0; use --threads 1 with other versions.',
      );
    }
    out = out.slice(0, first) + s.replace + out.slice(first + s.find.length);
  }
  return out;
}

/** The pthread worker script the bundle embeds, written to a content-addressed .cjs file (Node needs a path). */
function writeWorkerScript(bundle: string): string {
  const m = /\nvar wasmWorkerContents = ("(?:[^"\\]|\\.)*");\n/.exec(bundle);
  if (!m) throw new Error('tiedet engine: cannot find the pthread worker script inside @tensorflow/tfjs-backend-wasm');
  // The string literal, once parsed, holds raw newlines inside JS string literals: escape them again (tfjs does
  // the same before making its blob).
  const contents = (JSON.parse(m[1]) as string).replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(contents).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tiedet');
  const path = join(dir, `tfjs-wasm-worker-${hash}.cjs`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, contents);
    renameSync(tmp, path);
  }
  return path;
}

let loaded: { module: WasmBackendModule; poolSize: number } | undefined;

/**
 * Load the wasm backend with thread support enabled, `poolSize` pthread workers. Registers the 'wasm' backend
 * with tfjs-core like the stock import does. Call at most once per process (later calls return the same module).
 */
export function loadThreadedWasmBackend(poolSize: number): WasmBackendModule {
  if (loaded) return loaded.module;
  const bundlePath = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js');
  const pkgDir = dirname(dirname(bundlePath));
  const mainScriptPath = join(pkgDir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  if (!existsSync(mainScriptPath)) throw new Error(`tiedet engine: missing ${mainScriptPath}`);
  const source = readFileSync(bundlePath, 'utf8');
  const workerPath = writeWorkerScript(source);
  const patched = patchWasmBundle(source, workerPath, mainScriptPath, poolSize);
  const fn = vm.compileFunction(patched, ['exports', 'require', 'module', '__filename', '__dirname'], {
    filename: bundlePath,
  });
  const mod = { exports: {} as WasmBackendModule };
  fn(mod.exports, createRequire(bundlePath), mod, bundlePath, dirname(bundlePath));
  loaded = { module: mod.exports, poolSize };
  return mod.exports;
}
