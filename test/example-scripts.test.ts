/**
 * The runnable examples in examples/*.mjs (issue 13), each run as a user would (`node
 * examples/X.mjs --json`, against the built package) at a small size, with its outputs checked
 * against something independent of the engine: the lever rule, the synthetic cohort's truth, the
 * sham combination's additivity, the missing term of a UDE, the exact solution of an oscillator.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const example = async (name: string, ...args: string[]) => {
  const { stdout } = await run('node', [`examples/${name}`, ...args, '--json'], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
};

describe('examples/*.mjs', () => {
  it('parameter-sweep: 18 conditions in one batch; steady φ follows the lever rule', async () => {
    const r = await example('parameter-sweep.mjs', '--backend', 'cpu');
    expect(r.rows).toHaveLength(18);
    for (const row of r.rows) {
      expect(row.status).toBe('success');
      if (row.phi_lever_rule === 0) expect(row.phi_simulated).toBeLessThan(1e-9);
      else expect(Math.abs(row.phi_simulated / row.phi_lever_rule - 1)).toBeLessThan(1e-5);
    }
    expect(r.worst_relative_error).toBeLessThan(1e-5);
  });

  let twins = '';
  it('calibrate-trackmate: a twin from P01\'s TrackMate and FRAP files fits held-out cells and calls condensates as the truth has them', async () => {
    twins = join(mkdtempSync(join(tmpdir(), 'ctwin-example-')), 'twins');
    const r = await example('calibrate-trackmate.mjs', '--out', twins);
    expect(r.patient).toBe('P01');
    expect(r.summary.r2_heldout).toBeGreaterThan(0.95);
    expect(r.summary.condensate_needed).toBe(r.condensate_needed_truth);
    // Pause release is what the nascent-RNA channel pins down: within 10 % of the generator's.
    const kEsc = r.compared.find((c: { name: string }) => c.name === 'k_esc');
    expect(Math.abs(kEsc.estimate / kEsc.truth - 1)).toBeLessThan(0.1);
    expect(existsSync(join(twins, 'P01.twin.json'))).toBe(true);
  }, 120_000);

  it('combo-screen: on that twin, the untreated cell is 0 %, monotherapy inhibits more with dose, and the sham pair is Loewe-additive', async () => {
    const r = await example('combo-screen.mjs', twins, '--samples', '3', '--doses', '5', '--backend', 'cpu');
    expect(r.blocks.map((b: { combination: string }) => b.combination)).toEqual(['jq1+thz1', 'jq1+jq1']);
    for (const b of r.blocks) {
      for (const alone of b.alone) {
        expect(alone[0]).toBe(0);
        for (let i = 1; i < alone.length; i++) expect(alone[i]).toBeGreaterThanOrEqual(alone[i - 1] - 1e-6);
        expect(alone.at(-1)).toBeGreaterThan(50);
      }
    }
    const sham = r.blocks.find((b: { combination: string }) => b.combination === 'jq1+jq1');
    expect(Math.abs(sham.scores.Loewe.value)).toBeLessThan(1);
    expect(r.ranking).toHaveLength(2);
  }, 120_000);

  it('neural-term: the MLP learns the missing Michaelis–Menten removal and predicts a held-out cell', async () => {
    const r = await example('neural-term.mjs');
    expect(r.heldout_rms_after).toBeLessThan(0.01 * r.heldout_rms_before);
    for (const l of r.learnt) expect(Math.abs(l.learnt / l.missing - 1)).toBeLessThan(0.15);
  }, 60_000);

  it('own-tableau: Cash–Karp 5(4) given as data converges with order 5 and follows the tolerance', async () => {
    const r = await example('own-tableau.mjs', '--backend', 'cpu');
    expect(r.capabilities).toMatchObject({ adaptive: true, order: 5, stages: 6, fsal: false });
    expect(r.fixed.observedOrder).toBeGreaterThan(4.7);
    expect(r.fixed.observedOrder).toBeLessThan(5.3);
    const errors = r.adaptive.map((a: { error: number }) => a.error);
    expect(errors[1]).toBeLessThan(errors[0] / 10);
    expect(errors[2]).toBeLessThan(1e-7);
  });
});
