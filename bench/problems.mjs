// The benchmark problems of issue #2, shared by bench/run.mjs, bench/compare-builds.mjs and
// bench/jit-profile.mjs: Lorenz (σ = 10, ρ = 28, β = 8/3, u0 = (1, 0, 0), t ∈ [0, 10]), a 3-state
// condensate-like model (the same equations as the C reference, bench/native/dopri5_ensemble.c),
// and the UDE: the default condensate model without RNA with its neural term (docs/model.md), 10 min
// from dilute TF, which the C reference hard-codes with the same defaults. All dopri5, rtol 1e-6,
// atol 1e-8 where the benches solve them.
export const PROBLEM_NAMES = ['lorenz', 'condensate', 'ude'];

const SPECS = {
  lorenz: { t1: 10, spec: { name: 'lorenz', states: { x: 1, y: 0, z: 0 }, params: { sigma: 10, rho: 28, beta: 8 / 3 },
    equations: { x: 'sigma*(y-x)', y: 'x*(rho-z)-y', z: 'x*y-beta*z' } } },
  condensate: { t1: 100, spec: { name: 'condensate3', states: { c: 8, phi: 0.01, P: 0 },
    params: { k_syn: 1, k_deg: 0.1, k_part: 2, c_sat: 5, k_off: 0.05, k_nuc: 0.001, k_rec: 1, K_phi: 0.2, k_esc: 0.3 },
    equations: {
      c: 'k_syn - k_deg*c - k_part*phi*(c - c_sat)',
      phi: 'k_part*phi*(c - c_sat)*(1 - phi) - k_off*phi + k_nuc',
      P: 'k_rec*phi/(K_phi + phi)*(1 - P) - k_esc*P',
    } } },
  ude: { t1: 600 },
};

/**
 * The problem `name` built with `lib` (the engine's dist module: compare-builds loads two of
 * them): { model, t1 }. Throws a message naming the choices for an unknown name.
 */
export function benchProblem(lib, name) {
  const p = SPECS[name];
  if (!p) throw new Error(`--model ${name}: choose ${PROBLEM_NAMES.join(', ')}`);
  const model = name === 'ude' ? lib.condensateModel({ rna: false, neural: true }) : lib.parseModel(p.spec);
  return { model, t1: p.t1 };
}

/** How the GPU benches solve problem `name`: dopri5's tolerances above, the UDE with its weights compiled in. */
export const benchSolveOptions = (name) => ({ backend: 'gpu', rtol: 1e-6, atol: 1e-8, ...(name === 'ude' ? { bakeWeights: true } : {}) });
