/**
 * The engine in a worker thread (issue 13): the same functions as on the calling thread, hooks
 * called back across the thread boundary, our error classes surviving the trip (the CLI's exit
 * codes depend on them), and the main thread free while the worker computes.
 */
import { describe, expect, it } from 'vitest';
import { engineApi, startEngine, InputError, type ComboCheckpoint } from '../src/index.js';
import { syntheticTwin } from './helpers/twin.js';

const decay = { name: 'decay', states: { x: 1 }, params: { k: 0.5 }, equations: { x: '-k*x' } };

describe('startEngine (worker thread, comlink)', () => {
  it('simulates in a worker: x(t) = e^(−kt) to the tolerance', async () => {
    const engine = startEngine();
    try {
      expect(engine.inWorker).toBe(true);
      const params = Float64Array.from([0.5, 1, 2]);
      const out = await engine.api.simulate({ spec: decay, problem: { t1: 2, saveat: [0, 1, 2], params }, options: { backend: 'cpu', rtol: 1e-10, atol: 1e-12 } });
      expect(out.states).toEqual(['x']);
      expect(out.status).toEqual(['success', 'success', 'success']);
      params.forEach((k, b) => [0, 1, 2].forEach((t, s) => expect(out.y[b * 3 + s]).toBeCloseTo(Math.exp(-k * t), 9)));
    } finally { await engine.close(); }
  });

  it('a screen in the worker gives the same files as on this thread; progress and checkpoints come back; this thread keeps running', async () => {
    const twins = [syntheticTwin('A'), syntheticTwin('B', { values: { c_sat: 0.9 } })];
    const options = { combinations: [['jq1', 'thz1']], doses: 4, samples: 3, t1: 7200, backend: 'cpu' as const, chunk: 16, rankBy: 'ZIP' as const, methods: ['ZIP' as const], loewe: 'grid' as const };
    const here = await engineApi.combo(twins, options);
    const engine = startEngine();
    const progress: Array<[string, number, number]> = [], checkpoints: ComboCheckpoint[] = [];
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 5);
    try {
      const there = await engine.api.combo(twins, options, {
        progress: (stage, done, total) => { progress.push([stage, done, total]); },
        checkpoint: (_g, c) => { checkpoints.push(c); },
      });
      expect(there.files).toEqual(here.files);
      expect(there.ranking).toEqual(here.ranking);
    } finally { clearInterval(timer); await engine.close(); }
    const simulate = progress.filter((p) => p[0] === 'simulate');
    expect(simulate.at(-1)![1]).toBe(simulate.at(-1)![2]);
    expect(progress.some((p) => p[0] === 'score')).toBe(true);
    // 2 twins × 4 samples × 16 treatments in chunks of 16: a checkpoint per chunk, arrays intact.
    expect(checkpoints.map((c) => c.done)).toEqual([16, 32, 48, 64, 80, 96, 112, 128]);
    expect(checkpoints.at(-1)!.values[0]).toBeInstanceOf(Float64Array);
    expect(ticks).toBeGreaterThan(5);
  }, 60_000);

  it('bad input thrown in the worker arrives as an InputError with its message', async () => {
    const engine = startEngine();
    try {
      const err = await engine.api.combo([], { combinations: [['jq1', 'thz1']], rankBy: 'ZIP', methods: ['ZIP'], loewe: 'grid' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toBe('no twins to screen');
    } finally { await engine.close(); }
  });
});
