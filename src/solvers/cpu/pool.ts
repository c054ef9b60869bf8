/**
 * Persistent worker threads (comlink), one pool per worker script. Starting a worker loads the
 * compiler and mathjs (~0.5 s), which a training loop or a dose grid calling into the CPU backend
 * hundreds of times must not pay each time. Idle workers are unref'd: they never keep the process
 * alive; a call refs its worker for its duration.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

export interface PooledWorker<T> { worker: Worker; api: Comlink.Remote<T> }
const pools = new Map<string, Array<PooledWorker<unknown>>>();

/**
 * The compiled script `name` (e.g. 'worker.js') beside the module at `moduleUrl`. Under vitest the
 * sources are .ts, so the build in dist/ is used; undefined when it does not exist.
 */
export function workerScript(moduleUrl: string, name: string): string | undefined {
  const here = fileURLToPath(moduleUrl);
  const fromSource = here.endsWith('.ts');
  const dir = fromSource ? here.replace(/([\\/])src([\\/])/, '$1dist$2') : here;
  const js = dir.replace(/[^\\/]+$/, name);
  if (!existsSync(js)) return undefined;
  if (fromSource) refuseStaleBuild(here.replace(/([\\/])src([\\/]).*$/, '$1src'), js.replace(/([\\/])dist([\\/]).*$/, '$1dist'));
  return js;
}

let buildChecked = false;
/**
 * Running from the .ts sources (vitest), workers load the compiled dist/: refuse one older than
 * the sources, which would silently test old code on the workers (issue #9).
 */
function refuseStaleBuild(srcDir: string, distDir: string): void {
  if (buildChecked) return;
  // Every source file must have a compiled twin at least as new (leftovers in dist/ do not count).
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) { walk(p); continue; }
      if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue;
      const js = join(distDir, relative(srcDir, p)).replace(/\.ts$/, '.js');
      if (!existsSync(js) || statSync(js).mtimeMs < statSync(p).mtimeMs) stale.push(relative(srcDir, p));
    }
  };
  walk(srcDir);
  if (stale.length) {
    throw new Error(`${distDir} is older than ${srcDir} (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}): ` +
      'the worker threads would run old code. Run `npm run build` first (npm test does).');
  }
  buildChecked = true;
}

/** n workers of the script at `path`, started on first use and kept. */
export function workerPool<T>(path: string, n: number): Array<PooledWorker<T>> {
  let pool = pools.get(path) as Array<PooledWorker<T>> | undefined;
  if (!pool) pools.set(path, (pool = []));
  while (pool.length < n) {
    const worker = new Worker(path);
    worker.unref();
    const entry: PooledWorker<T> = { worker, api: Comlink.wrap<T>(nodeEndpoint(worker)) };
    const drop = () => { const p = pools.get(path); if (p) pools.set(path, p.filter((e) => e !== entry)); };
    worker.on('exit', drop);
    worker.on('error', drop);
    pool.push(entry);
  }
  return pool.slice(0, n);
}

/** Runs `call` on a pooled worker, keeping the process alive while it runs. */
export async function onWorker<T, R>(entry: PooledWorker<T>, call: (api: Comlink.Remote<T>) => Promise<R>): Promise<R> {
  entry.worker.ref();
  try {
    return await call(entry.api);
  } finally {
    entry.worker.unref();
  }
}

/**
 * Below this many trajectories per worker, a worker's start-up and messages cost more than it
 * saves (the first solve of a process pays ~30 ms per worker).
 */
export const MIN_TRAJECTORIES_PER_WORKER = 32;

/**
 * Runs a batch of B trajectories as contiguous ranges, one per pooled worker of `script`: as many
 * workers as keep at least MIN_TRAJECTORIES_PER_WORKER each, at most `workers`. Returns the ranges'
 * starts and each range's result, or undefined when one thread should do it all (a small batch,
 * or no compiled worker script) — the caller then runs it on its own thread.
 */
export async function fanOut<T, R>(
  script: string | undefined, B: number, workers: number, call: (api: Comlink.Remote<T>, start: number, end: number) => Promise<R>,
): Promise<{ starts: number[]; parts: R[] } | undefined> {
  const n = script ? Math.max(1, Math.min(workers, Math.floor(B / MIN_TRAJECTORIES_PER_WORKER))) : 1;
  if (n === 1) return undefined;
  const bounds = Array.from({ length: n + 1 }, (_, w) => Math.round((w * B) / n));
  const pool = workerPool<T>(script!, n);
  const parts = await Promise.all(bounds.slice(0, -1).map((start, w) => onWorker(pool[w]!, (api) => call(api, start, bounds[w + 1]!))));
  return { starts: bounds.slice(0, -1), parts };
}

/** Stops every pooled worker thread (they are started again when next needed).
 * @example
 * await releaseCpuWorkers(); // let a script's process exit at once
 */
export async function releaseCpuWorkers(): Promise<void> {
  const all = [...pools.values()].flat();
  pools.clear();
  await Promise.all(all.map((p) => p.worker.terminate()));
}
