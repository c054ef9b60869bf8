/**
 * A valid twin file built from the bundled model's own values (no calibration needed): the
 * estimated parameters at the model's values, a given Laplace covariance on their log scale.
 */
import { readFileSync } from 'node:fs';
import type { TwinFile } from '../../src/twin/twin.js';

export const ESTIMATED = ['c_sat', 'k_phi', 'k_rec', 'k_esc', 'k_R', 'K_phi'];

export function syntheticTwin(patient: string, options: { values?: Record<string, number>; covariance?: number[][]; model?: Record<string, unknown> } = {}): TwinFile {
  const model = options.model ?? JSON.parse(readFileSync('examples/condensate.json', 'utf8')) as Record<string, unknown>;
  const specParams = model.params as Record<string, { value: number; unit?: string; scale?: string }>;
  const K = ESTIMATED.length;
  const covariance = options.covariance ?? Array.from({ length: K }, (_, a) => Array.from({ length: K }, (_, b) => (a === b ? 0.01 : 0)));
  const params: TwinFile['params'] = {};
  ESTIMATED.forEach((name, k) => {
    const value = options.values?.[name] ?? specParams[name]!.value, s = Math.sqrt(covariance[k]![k]!);
    params[name] = { value, se: value * s, ci95: [value * Math.exp(-1.96 * s), value * Math.exp(1.96 * s)], identifiable: s <= 0.5, scale: 'log', ...(specParams[name]!.unit && specParams[name]!.unit !== '1' ? { unit: specParams[name]!.unit } : {}) };
  });
  return {
    schema: 'condensate-twin/twin@1', patient, model, params, uncertainty: { names: ESTIMATED, covariance },
    observation: { equation: 'z = a·h + b', bleach: 'cell', sigma: 'patient', drift: true, cells: {} },
    weights: { values: [] },
    applicability: { condensate_needed: true, criterion: 'synthetic', delta: null, nll_with: null, nll_without: null, params_with: K, params_without: null, cells: 0, gain_per_measurement: null },
    diagnostics: { status: 'ok', r2_fit: null, r2_heldout: null, nll: null, loss: null, cells: 0, heldout_cells: 0, data_points: 0, per_observable: {}, hessian_eigenvalues: null },
    provenance: { engine: 'condensate-twin', version: '0.1.0', model_sha256: '0'.repeat(64), data: [], options: { rtol: 1e-7, atol: 1e-10 }, seed: 1 },
  };
}
