/**
 * The engine in a Node worker thread, for callers whose main thread must stay free: the CLI draws
 * its progress bars and answers Ctrl-C there while the worker computes (./engine.ts).
 */
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { workerScript } from '../solvers/cpu/pool.js';
import { engineApi, type EngineApi } from './engine.js';
import { InputError } from '../io/csv.js';
import { ModelError } from '../physics/model.js';
import { ProblemError } from '../solvers/problem.js';
import { GpuDeviceLostError, GpuUnavailableError } from '../gpu/runtime.js';

/** Hooks as they cross to the worker: comlink calls them back on this thread. */
type Remote<T> = { [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never };

export interface EngineHandle {
  /** The engine's functions; hooks given to them are called back on this thread. */
  api: Remote<EngineApi>;
  /** True when it runs in a worker thread (false: no compiled worker script, it runs here). */
  inWorker: boolean;
  /** Stops the worker at once (pending calls reject); the engine here cannot be stopped. */
  close(): Promise<void>;
}

/**
 * An error from the worker arrives as a plain Error with its name (comlink); our own error
 * classes come back as themselves, so callers (and the CLI's exit codes) tell bad input from bugs.
 */
function revive(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const classes: Record<string, { prototype: Error }> = { InputError, ModelError, ProblemError, GpuUnavailableError, GpuDeviceLostError };
  const cls = classes[err.name];
  // The message already says everything (a ModelError's file:line:col is in it); the prototype
  // restores `instanceof`.
  return cls ? Object.assign(Object.create(cls.prototype) as Error, { name: err.name, message: err.message, stack: err.stack }) : err;
}

/** Which argument of each function is its hooks object (sent as a comlink proxy, not copied). */
const HOOKS_AT: Record<keyof EngineApi, number> = { calibrate: 2, combo: 2, simulate: -1 };

/**
 * Starts the engine in a worker thread.
 * @example
 * const engine = startEngine();
 * try {
 *   const out = await engine.api.simulate({ spec: { name: 'decay', states: { x: 1 }, params: { k: 0.5 }, equations: { x: '-k*x' } }, problem: { t1: 2 } });
 *   out.status[0]; // 'success'
 * } finally { await engine.close(); }
 */
export function startEngine(): EngineHandle {
  const script = workerScript(import.meta.url, 'node-worker.js');
  if (!script) return { api: engineApi as Remote<EngineApi>, inWorker: false, close: async () => {} };
  const worker = new Worker(script);
  const remote = Comlink.wrap<EngineApi>(nodeEndpoint(worker));
  // A worker that dies (out of memory, a native crash) rejects the call that was running.
  let failed: ((err: Error) => void) | undefined;
  const died = new Promise<never>((_, reject) => { failed = reject; });
  died.catch(() => {});
  worker.on('error', (err) => failed?.(err));
  worker.on('exit', (code) => failed?.(new Error(`the engine worker stopped (exit code ${code})`)));
  const wrapped = (name: keyof EngineApi) => async (...args: unknown[]) => {
    const sent = args.map((a, i) => (i === HOOKS_AT[name] && a ? Comlink.proxy(a as object) : a));
    try {
      return await Promise.race([(remote[name] as (...a: unknown[]) => Promise<unknown>)(...sent), died]);
    } catch (err) { throw revive(err); }
  };
  const api = { calibrate: wrapped('calibrate'), combo: wrapped('combo'), simulate: wrapped('simulate') } as unknown as Remote<EngineApi>;
  return { api, inWorker: true, close: async () => { failed = undefined; await worker.terminate(); } };
}
