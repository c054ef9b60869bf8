/** Shared test problems with independent references (analytic, invariants, published values). */
import { parseModel } from '../../src/physics/model.js';

export const decay = parseModel({ name: 'decay', states: { x: 1 }, params: { k: 0.7 }, equations: { x: '-k*x' } });

/** Lotka–Volterra; V = δx − γ ln x + βy − α ln y is constant along solutions. */
export const lotkaVolterra = parseModel({
  name: 'lotka_volterra', states: { x: 1, y: 1 }, params: { alpha: 1.5, beta: 1, gamma: 3, delta: 1 },
  equations: { x: 'alpha*x - beta*x*y', y: '-gamma*y + delta*x*y' },
});
export const lvInvariant = (x: number, y: number, p = { alpha: 1.5, beta: 1, gamma: 3, delta: 1 }) =>
  p.delta * x - p.gamma * Math.log(x) + p.beta * y - p.alpha * Math.log(y);

export const vanDerPol = parseModel({
  name: 'van_der_pol', states: { x: 2, v: 0 }, params: { mu: 5 },
  equations: { x: 'v', v: 'mu*(1 - x^2)*v - x' },
});

export const lorenz = parseModel({
  name: 'lorenz', states: { x: 1, y: 0, z: 0 }, params: { sigma: 10, rho: 28, beta: 8 / 3 },
  equations: { x: 'sigma*(y-x)', y: 'x*(rho-z)-y', z: 'x*y-beta*z' },
});

/** HIRES, IVP test set (Mazzia & Magherini), t ∈ [0, 321.8122]; reference by RADAU5 at 1.1e-18. */
export const hires = parseModel({
  name: 'hires', states: { y1: 1, y2: 0, y3: 0, y4: 0, y5: 0, y6: 0, y7: 0, y8: 0.0057 }, params: {},
  equations: {
    y1: '-1.71*y1 + 0.43*y2 + 8.32*y3 + 0.0007', y2: '1.71*y1 - 8.75*y2', y3: '-10.03*y3 + 0.43*y4 + 0.035*y5',
    y4: '8.32*y2 + 1.71*y3 - 1.12*y4', y5: '-1.745*y5 + 0.43*y6 + 0.43*y7',
    y6: '-280*y6*y8 + 0.69*y4 + 1.71*y5 - 0.43*y6 + 0.69*y7', y7: '280*y6*y8 - 1.81*y7', y8: '-280*y6*y8 + 1.81*y7',
  },
});
export const HIRES_T1 = 321.8122;
export const HIRES_REF = [0.7371312573325668e-3, 0.1442485726316185e-3, 0.5888729740967575e-4, 0.1175651343283149e-2,
  0.2386356198831331e-2, 0.6238968252742796e-2, 0.2849998395185769e-2, 0.2850001604814231e-2];

/** Robertson, IVP test set, t ∈ [0, 1e11]. */
export const robertson = parseModel({
  name: 'robertson', states: { y1: 1, y2: 0, y3: 0 }, params: { k1: 0.04, k2: 3e7, k3: 1e4 },
  equations: { y1: '-k1*y1 + k3*y2*y3', y2: 'k1*y1 - k3*y2*y3 - k2*y2^2', y3: 'k2*y2^2' },
});
export const ROBERTSON_T1 = 1e11;
export const ROBERTSON_REF = [0.2083340149701255e-7, 0.8333360770334713e-13, 0.9999999791665050];

/** A UDE whose network reads a parameter (c − csat), so p̄ also flows through the network's inputs. */
export const udeWithParamInput = parseModel({
  name: 'ude_param_input', states: { c: 1, phi: 0.1, P: 0 }, params: { k: 0.5, csat: 0.8, kp: 1, kr: 0.2 },
  equations: { c: '-k*(c - csat)*phi', phi: 'k*(c - csat)*phi*(1 - phi)', P: 'kp*phi - kr*P' },
  neural: { inputs: ['c - csat', 'phi', 'P'], outputs: [{ state: 'c', scale: 0.05 }, { state: 'phi', scale: 0.05 }, { state: 'P', scale: 0.05 }], hidden: [8], seed: 3 },
});

/**
 * A non-autonomous UDE: t in an equation and among the network's inputs, so a stage evaluated at
 * the wrong time shows (the adjoint's stage loops pick c_s per stage: src/codegen/step.ts).
 */
export const udeNonAutonomous = parseModel({
  name: 'ude_time', states: { c: 1, phi: 0.1 }, params: { k: 0.5, csat: 0.8, a: 0.3 },
  equations: { c: '-k*(c - csat)*phi + a*sin(t)', phi: 'k*(c - csat)*phi*(1 - phi)' },
  neural: { inputs: ['c', 'phi', 't / 10'], outputs: [{ state: 'c', scale: 0.05 }, { state: 'phi', scale: 0.05 }], hidden: [8, 8], seed: 4 },
});
