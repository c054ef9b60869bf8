/**
 * Integration methods as data (STYLE.md §4: "a method is a tableau plus a few lines").
 * Both backends read these tables; the WGSL generator prints them as exact f32 literals.
 */

export type MethodName = 'rk4' | 'bs3' | 'dopri5' | 'tsit5' | 'vern6' | 'rosenbrock23' | 'rodas4';
export const METHOD_NAMES: readonly MethodName[] = ['rk4', 'bs3', 'dopri5', 'tsit5', 'vern6', 'rosenbrock23', 'rodas4'];

/** An explicit Runge–Kutta method: k_i = f(t + c_i h, y + h Σ_j a_ij k_j), y₁ = y₀ + h Σ b_i k_i. */
export interface ExplicitTableau {
  kind: 'explicit';
  /** A built-in's MethodName, or any label for a user-supplied tableau. */
  name: string;
  /** Order of the propagated solution (the convergence slope a test expects). */
  order: number;
  c: number[];
  a: number[][];
  b: number[];
  /** Error weights b − b̂ of the embedded pair; absent → fixed step. */
  btilde?: number[];
  /** Order q of the embedded error estimate; the controller's exponent is 1/q (Hairer I §II.4). */
  errorOrder?: number;
  /**
   * The last stage of the step (the last before any interpolation stages) is f(t + h, y₁): reused
   * as the next step's first stage (first same as last).
   */
  fsal: boolean;
  /**
   * Continuous extension y(t + θh) = y₀ + h Σ_i b_i(θ) k_i with b_i(θ) = Σ_m dense[i][m] θ^(m+1)
   * (any degree; every row the same length; one row per stage, interpolation stages included).
   * Absent → the integrator steps exactly onto every save time.
   */
  dense?: number[][];
  /**
   * How many of the last stages serve only the dense output (Verner's "extra stages"): evaluated
   * after an accepted step, and only when a save falls inside it; their b and btilde are 0.
   * Default 0.
   */
  interpolationStages?: number;
}

/**
 * A Rosenbrock (linearly implicit) method in the transformed form of Hairer & Wanner II, §IV.7
 * (eq. 7.4'), the form rodas.f uses: with W = I/(hγ) − J, stage i solves
 *   W U_i = f(t + c_i h, y + Σ_{j<i} a_ij U_j) + Σ_{j<i} (C_ij / h) U_j + h d_i ∂f/∂t,
 * then y₁ = y + Σ m_j U_j and the local error estimate is Σ e_j U_j. One LU of W per step.
 */
export interface RosenbrockTableau {
  kind: 'rosenbrock';
  name: string;
  order: number;
  /** The error estimate is O(h^errorOrder); the controller's exponent is 1/errorOrder. */
  errorOrder: number;
  gamma: number;
  c: number[];
  a: number[][];
  C: number[][];
  /** Weights of h ∂f/∂t per stage (non-autonomous problems). */
  d: number[];
  m: number[];
  e: number[];
  /**
   * The last stage is evaluated at (t + h, y₁) itself (a = m, c = 1): its f is the next step's
   * first stage, and the state it sees carries the compensated sum (first same as last).
   */
  fsal: boolean;
  /**
   * Dense output y(θ) = y₀ + θ Σ m_j U_j + θ(1−θ) Σ (h2_j + θ h3_j) U_j — Hairer's CONT form
   * (1−θ)y₀ + θ(y₁ + (1−θ)(H₂ + θH₃)) written with the increment, which keeps f32 digits.
   * Absent → the integrator steps exactly onto every save time (as for a method without one).
   */
  dense?: { h2: number[]; h3: number[] };
}

export type Method = ExplicitTableau | RosenbrockTableau;

/** Classical 4th-order Runge–Kutta, fixed step. */
export const RK4: ExplicitTableau = {
  kind: 'explicit', name: 'rk4', order: 4, fsal: false,
  c: [0, 1 / 2, 1 / 2, 1],
  a: [[], [1 / 2], [0, 1 / 2], [0, 0, 1]],
  b: [1 / 6, 1 / 3, 1 / 3, 1 / 6],
};

/**
 * Bogacki & Shampine (1989) 3(2), "A 3(2) pair of Runge–Kutta formulas" (MATLAB's ode23): FSAL,
 * b̂ = (7/24, 1/4, 1/3, 1/8), with the cubic Hermite interpolant on y₀, y₁, f₀ = k₁, f₁ = k₄:
 * y(θ) = y₀ + h Σ b_i(θ) k_i, b_i(θ) = (3θ² − 2θ³) b_i + δ_i1 θ(θ − 1)² + δ_i4 θ²(θ − 1),
 * expanded into powers of θ below.
 */
const BS3_B = [2 / 9, 1 / 3, 4 / 9, 0];
export const BS3: ExplicitTableau = {
  kind: 'explicit', name: 'bs3', order: 3, errorOrder: 3, fsal: true,
  c: [0, 1 / 2, 3 / 4, 1],
  a: [[], [1 / 2], [0, 3 / 4], BS3_B.slice(0, 3)],
  b: BS3_B,
  btilde: [2 / 9 - 7 / 24, 1 / 3 - 1 / 4, 4 / 9 - 1 / 3, -1 / 8],
  // θ: δ_i1; θ²: 3b_i − 2δ_i1 − δ_i4; θ³: −2b_i + δ_i1 + δ_i4.
  dense: BS3_B.map((b, i) => {
    const d1 = i === 0 ? 1 : 0, d4 = i === 3 ? 1 : 0;
    return [d1, 3 * b - 2 * d1 - d4, -2 * b + d1 + d4];
  }),
};

/**
 * Dormand & Prince (1980) 5(4), FSAL, with Shampine's (1986) 4th-order dense output as in
 * Hairer's DOPRI5 (CONTD5). b = the 7th row of a.
 */
const DP_B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0];
const DP_D = [-12715105075 / 11282082432, 0, 87487479700 / 32700410799, -10690763975 / 1880347072,
  701980252875 / 199316789632, -1453857185 / 822651844, 69997945 / 29380423];
export const DOPRI5: ExplicitTableau = {
  kind: 'explicit', name: 'dopri5', order: 5, errorOrder: 5, fsal: true,
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    DP_B.slice(0, 6),
  ],
  b: DP_B,
  btilde: [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40],
  // Hairer's y(θ) = y₀ + θΔ + θ(1−θ)(hk₁ − Δ) + θ²(1−θ)(2Δ − hk₁ − hk₇) + θ²(1−θ)²·h Σ d_i k_i,
  // Δ = h Σ b_i k_i, expanded into powers of θ per stage (δ = Kronecker delta):
  // θ: δ_i1; θ²: 3b_i − 2δ_i1 − δ_i7 + d_i; θ³: −2b_i + δ_i1 + δ_i7 − 2d_i; θ⁴: d_i.
  dense: DP_B.map((b, i) => {
    const d1 = i === 0 ? 1 : 0, d7 = i === 6 ? 1 : 0, d = DP_D[i]!;
    return [d1, 3 * b - 2 * d1 - d7 + d, -2 * b + d1 + d7 - 2 * d, d];
  }),
};

/**
 * Tsitouras (2011) 5(4), "Runge–Kutta pairs of order 5(4) satisfying only the first column
 * simplifying assumption", with its 4th-order interpolant (coefficients as in OrdinaryDiffEq.jl).
 */
const TS_B = [0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081,
  2.324710524099774, 0];
export const TSIT5: ExplicitTableau = {
  kind: 'explicit', name: 'tsit5', order: 5, errorOrder: 5, fsal: true,
  c: [0, 0.161, 0.327, 0.9, 0.9800255409045097, 1, 1],
  a: [
    [],
    [0.161],
    [-0.008480655492356989, 0.335480655492357],
    [2.897153057105493, -6.359448489975075, 4.3622954328695815],
    [5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525],
    [5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401, -0.028269050394068383],
    TS_B.slice(0, 6),
  ],
  b: TS_B,
  btilde: [-0.00178001105222577714, -0.0008164344596567469, 0.007880878010261995, -0.1447110071732629,
    0.5823571654525552, -0.45808210592918697, 1 / 66],
  dense: [
    [1, -2.763706197274826, 2.9132554618219126, -1.0530884977290216],
    [0, 0.13169999999999998, -0.2234, 0.1017],
    [0, 3.9302962368947516, -5.941033872131505, 2.490627285651253],
    [0, -12.411077166933676, 30.33818863028232, -16.548102889244902],
    [0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
    [0, -27.896526289197286, 65.09189467479366, -34.87065786149661],
    [0, 1.5, -4, 2.5],
  ],
};

/**
 * Verner's "most efficient" 6(5) pair (RKV65.IIIXb.Efficient; Verner, "Numerically optimal
 * Runge–Kutta pairs with interpolants", Numer. Algorithms 53, 2010), FSAL: 9 stages, order 6 with
 * an embedded order-5 solution, and a 6th-order interpolant that needs 3 more stages (c = 1/2,
 * 207/250, 7/25), evaluated only when a save falls inside a step. Coefficients (f64 roundings of
 * Verner's rationals) as tabulated from his website in OrdinaryDiffEq.jl's Vern6 tableau
 * (src/tableaus/verner_tableaus.jl); b is the 9th row of a, btilde = b̂ − b.
 */
const V6_B = [0.03438957868357036, 0, 0, 0.25826245556335037, 0.4209371189673537, 4.40539646966931,
  -176.48311902429865, 172.36413340141507, 0, 0, 0, 0];
export const VERN6: ExplicitTableau = {
  kind: 'explicit', name: 'vern6', order: 6, errorOrder: 5, fsal: true, interpolationStages: 3,
  c: [0, 0.06, 0.09593333333333333, 0.1439, 0.4973, 0.9725, 0.9995, 1, 1, 0.5, 0.828, 0.28],
  a: [
    [],
    [0.06],
    [0.019239962962962962, 0.07669337037037037],
    [0.035975, 0, 0.107925],
    [1.3186834152331484, 0, -5.042058063628562, 4.220674648395414],
    [-41.87259166432751, 0, 159.43256216313748, -122.11921356501004, 5.531743066200053],
    [-54.430156935316504, 0, 207.06725136501848, -158.61081378459, 6.991816585950242, -0.01859723106220323],
    [-54.66374178728198, 0, 207.95280625538936, -159.2889574744995, 7.018743740796944, -0.018338785905045722,
      -0.0005119484997882099],
    V6_B.slice(0, 8),
    [0.016524159013572806, 0, 0, 0.3053128187514179, 0.2071200938201979, -1.293879140655123, 57.11988411588149,
      -55.87979207510932, 0.024830028297766014],
    [0.038150081818627744, 0, 0, 0.2502358252513705, 0.3249441447817608, 1.8224606658327962, -67.7137233269262,
      66.03587911808127, -0.0363881087495127, 0.106441599909888],
    [0.11178168039666012, 0, 0, 0.025757505109345213, 3.785140856363646, 92.34088993695727, -3819.461508432344,
      3732.492711530704, -1.0756940209963033, -3.231539970732086, -4.707539085458635],
  ],
  b: V6_B,
  btilde: [0.008623404282200854, 0, 0, -0.019434029953152708, 0.028450072588037983, -2.1097110610652914,
    103.45854289996397, -101.39980461914912, 0.03333333333333333, 0, 0, 0],
  // b_i(θ) = Σ_m r_i,m θ^m, m = 1…6 (Verner's interpolant; r_i,1 = 0 except for stage 1).
  dense: [
    [1, -7.778593856495576, 27.0524385722671, -45.780190114576975, 36.723777410436384, -11.183042432947357],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 16.632102138279762, -86.25583404770623, 171.73305461826962, -149.67744091315947, 47.826380659879696],
    [0, 27.10835046149758, -140.58676162962996, 279.90447579689163, -243.95644583707966, 77.95131832728772],
    [0, 283.70753264670356, -1471.3371557366656, 2929.3928569314394, -2553.17199842168, 815.8141610498723],
    [0, -11365.512865164834, 58942.74718938947, -117353.43045697975, 102281.77209230464, -32682.059078573824],
    [0, 11100.250191051131, -57567.067013355576, 114614.48808378985, -99894.591091309, 31919.283963225014],
    [0, -3.0022825150732126, 14.946122435958785, -27.826954732510288, 21.824672217437076, -5.941557405812358],
    [0, -19.610347376201034, 93.13370014508226, -165.3493635542416, 129.73901617804057, -37.91300539268019],
    [0, -18.23029074639409, 96.74593449012313, -199.08634973839895, 180.85605899200485, -60.285352997334954],
    [0, -13.563796638614157, 90.62137973668116, -204.04515601697273, 190.48135937835858, -63.493786459452856],
  ],
};

/**
 * Rosenbrock 2(3) of Shampine & Reichelt (1997), "The MATLAB ODE Suite" (ode23s): L-stable,
 * order 2 with a 3rd-order error estimate and a free 2nd-order interpolant. Published as
 *   W' = I − h δ J,  k₁ = W'⁻¹(f₀ + h δ f_t),  k₂ = W'⁻¹(f(t + h/2, y + h/2 k₁) − k₁) + k₁,
 *   y₁ = y + h k₂,  k₃ = W'⁻¹(f(t+h, y₁) − e₃₂(k₂ − f₁) − 2(k₁ − f₀) + h δ f_t),
 *   err = h/6 (k₁ − 2k₂ + k₃),  y(θ) = y + h[θ(1−θ)/(1−2δ) k₁ + θ(θ−2δ)/(1−2δ) k₂],
 * with δ = 1/(2+√2), e₃₂ = 6+√2. Rewritten in the transformed form with γ = δ:
 *   U₁ = hδ k₁, U₂ = hδ (k₂ − k₁), U₃ = hδ (k₃ − e₃₂(k₂ − k₁) − 2k₁)
 * (using f₁ = W'(k₂ − k₁) + k₁ and f₀ = W'k₁ − hδ f_t to eliminate f₀, f₁ from stage 3), which gives
 * the coefficients below; test/references.test.ts checks the result against published values.
 */
const RB_D = 1 / (2 + Math.SQRT2);
const RB_E32 = 6 + Math.SQRT2;
export const ROSENBROCK23: RosenbrockTableau = {
  kind: 'rosenbrock', name: 'rosenbrock23', order: 2, errorOrder: 3, gamma: RB_D, fsal: true,
  c: [0, 1 / 2, 1],
  a: [[], [1 / (2 * RB_D)], [1 / RB_D, 1 / RB_D]],
  C: [[], [-1 / RB_D], [-2 / RB_D, -RB_E32 / RB_D]],
  d: [RB_D, 0, -RB_D],
  m: [1 / RB_D, 1 / RB_D, 0],
  e: [1 / (6 * RB_D), (RB_E32 - 2) / (6 * RB_D), 1 / (6 * RB_D)],
  dense: { h2: [0, -1 / (RB_D * (1 - 2 * RB_D)), 0], h3: [0, 0, 0] },
};

/**
 * RODAS (Hairer & Wanner II, §VI.4; rodas.f, METH = 1): 6 stages, order 4 with an embedded order-3
 * solution, L-stable and stiffly accurate (y₁ and the embedded solution are stage values, so the
 * error estimate is the last stage U₆ itself).
 *
 * No dense output: rodas4 steps onto every save time. rodas.f's continuous extension (D21…D35:
 * H₂ = [10.12623508344586, −7.487995877610167, −34.80091861555747, −7.992771707568823,
 * 1.025137723295662, 0], H₃ = [−0.6762803392801253, 6.087714651680015, 16.43084320892478,
 * 24.76722511418386, −6.594389125716872, 0]) is 3rd order on non-stiff problems but loses an
 * order in the stiff limit. Measured in f64 on Prothero–Robinson y' = λ(y − sin t) + cos t, one
 * step of h from y(7.1) = sin 7.1: the worst interior error grows like h³ (λ = −1e4: 8.8e-6,
 * 2.3e-4, 1.6e-3 at h = 0.1, 0.3, 0.6) while for λ = −1 it grows like h⁴, and the end point stays
 * within 3e-6. The step controller sees only the end point, so it takes h ≈ 0.6 there and the
 * interpolated saves were off by 1.6e-3 at rtol 1e-6 on both backends (issue #9, defect 1).
 */
const RODAS_A5 = [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895];
export const RODAS4: RosenbrockTableau = {
  kind: 'rosenbrock', name: 'rodas4', order: 4, errorOrder: 4, gamma: 0.25, fsal: false,
  c: [0, 0.386, 0.21, 0.63, 1, 1],
  a: [
    [],
    [1.544],
    [0.9466785280815826, 0.2557011698983284],
    [3.314825187068521, 2.896124015972201, 0.9986419139977817],
    RODAS_A5,
    [...RODAS_A5, 1],
  ],
  C: [
    [],
    [-5.6688],
    [-2.430093356833875, -0.2063599157091915],
    [-0.1073529058151375, -9.594562251023355, -20.47028614809616],
    [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616],
    [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054],
  ],
  d: [0.25, -0.1043, 0.1035, -0.03620000000000023, 0, 0],
  m: [...RODAS_A5, 1, 1],
  e: [0, 0, 0, 0, 0, 1],
};

/**
 * A built-in method's tableau.
 * @example
 * const order = methodByName('rodas4').order; // 4
 */
export function methodByName(name: MethodName): Method {
  switch (name) {
    case 'rk4': return RK4;
    case 'bs3': return BS3;
    case 'dopri5': return DOPRI5;
    case 'tsit5': return TSIT5;
    case 'vern6': return VERN6;
    case 'rosenbrock23': return ROSENBROCK23;
    case 'rodas4': return RODAS4;
  }
}

/** True when the method adapts its step (needs rtol/atol, not --dt). */
export const isAdaptive = (m: Method) => m.kind === 'rosenbrock' || m.btilde !== undefined;

/** A user-supplied tableau that is malformed or inconsistent; the message says which entry. */
export class TableauError extends Error {
  override name = 'TableauError';
}

/** What a method can do, derived from its tableau (never from its name). */
export interface Capabilities {
  /** Has an error estimate: takes rtol/atol and adapts its step. */
  adaptive: boolean;
  /** Has a continuous extension; without one the integrator steps onto every save time. */
  dense: boolean;
  /** Linearly implicit (Rosenbrock): uses the Jacobian, for stiff problems. */
  stiff: boolean;
  /** The last stage is the next step's first (first same as last). */
  fsal: boolean;
  order: number;
  stages: number;
}

/**
 * What a method can do, from its tableau's entries.
 * @example
 * const { adaptive, dense, stiff } = capabilities(methodByName('dopri5')); // true, true, false
 */
export function capabilities(m: Method): Capabilities {
  return {
    adaptive: isAdaptive(m), dense: m.dense !== undefined, stiff: m.kind === 'rosenbrock', fsal: m.fsal,
    order: m.order, stages: m.c.length,
  };
}

/**
 * A built-in method by name, or a user-supplied tableau after checking it: array shapes, strictly
 * lower-triangular a (and C), finite entries, and the consistency conditions every RK method needs
 * (Hairer I, §II.2): Σ_j a_ij = c_i, Σ b_i = 1, Σ b̃_i = 0 (b̃ = b − b̂), b_i(1) = b_i for the dense
 * output, and for FSAL the last row of a equal to b with c = 1.
 * @example
 * const heun = resolveMethod({ kind: 'explicit', name: 'heun', order: 2, fsal: false, c: [0, 1], a: [[], [1]], b: [0.5, 0.5] });
 */
export function resolveMethod(m: MethodName | Method): Method {
  if (typeof m === 'string') {
    if (!(METHOD_NAMES as readonly string[]).includes(m)) throw new TableauError(`unknown method "${m}" (choose ${METHOD_NAMES.join(', ')}, or pass a tableau object)`);
    return methodByName(m);
  }
  checkTableau(m);
  return m;
}

function checkTableau(m: Method): void {
  const fail = (what: string): never => { throw new TableauError(`tableau "${m.name ?? '?'}": ${what}`); };
  if (m.kind !== 'explicit' && m.kind !== 'rosenbrock') fail(`kind must be "explicit" or "rosenbrock" (got ${String((m as { kind?: unknown }).kind)})`);
  const nStages = Array.isArray(m.c) ? m.c.length : 0;
  if (nStages < 1) fail('c must list one node per stage');
  if (!(Number.isInteger(m.order) && m.order >= 1)) fail(`order must be a positive integer (got ${m.order})`);
  const vec = (v: unknown, name: string) => {
    if (!Array.isArray(v) || v.length !== nStages) fail(`${name} must have ${nStages} entries (one per stage)`);
    (v as number[]).forEach((x, i) => { if (!Number.isFinite(x)) fail(`${name}[${i}] is not a finite number`); });
    return v as number[];
  };
  const lower = (rows: unknown, name: string) => {
    if (!Array.isArray(rows) || rows.length !== nStages) fail(`${name} must have ${nStages} rows`);
    (rows as unknown[]).forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== i) fail(`${name}[${i}] must have ${i} entries (strictly lower triangular)`);
      (row as number[]).forEach((x, j) => { if (!Number.isFinite(x)) fail(`${name}[${i}][${j}] is not a finite number`); });
    });
    return rows as number[][];
  };
  const near = (x: number, y: number) => Math.abs(x - y) <= 1e-10 * Math.max(1, Math.abs(y));
  const sum = (v: number[]) => v.reduce((acc, x) => acc + x, 0);
  const c = vec(m.c, 'c');
  const a = lower(m.a, 'a');
  if (m.kind === 'explicit') {
    a.forEach((row, i) => { if (!near(sum(row), c[i]!)) fail(`row ${i} of a sums to ${sum(row)}, not c[${i}] = ${c[i]}`); });
    const b = vec(m.b, 'b');
    if (!near(sum(b), 1)) fail(`b sums to ${sum(b)}, not 1`);
    const extra = m.interpolationStages ?? 0;
    if (!Number.isInteger(extra) || extra < 0 || extra >= nStages) fail(`interpolationStages must be an integer in [0, ${nStages - 1}] (got ${extra})`);
    if (extra > 0 && m.dense === undefined) fail('interpolationStages serve the dense output; give dense too');
    const last = nStages - 1 - extra;
    for (let s = last + 1; s < nStages; s++) {
      if (b[s] !== 0 || (m.btilde?.[s] ?? 0) !== 0) fail(`stage ${s} is an interpolation stage, so b[${s}] and btilde[${s}] must be 0`);
    }
    if (m.btilde !== undefined) {
      const bt = vec(m.btilde, 'btilde');
      if (!near(sum(bt), 0)) fail(`btilde (b − b̂) sums to ${sum(bt)}, not 0`);
      if (!(Number.isInteger(m.errorOrder) && m.errorOrder! >= 1)) fail('an adaptive tableau needs errorOrder (the order of its error estimate)');
    }
    if (m.fsal && (!near(c[last]!, 1) || b[last] !== 0 || a[last]!.some((x, j) => !near(x, b[j]!)))) {
      fail('fsal needs a last stage at c = 1 (the last before any interpolation stages) whose row of a equals b (and b of that stage 0)');
    }
    if (m.dense !== undefined) {
      if (!Array.isArray(m.dense) || m.dense.length !== nStages) fail(`dense must have ${nStages} rows`);
      const degree = m.dense[0]?.length ?? 0;
      m.dense.forEach((row, i) => {
        if (!Array.isArray(row) || row.length !== degree || degree < 1) fail(`dense[${i}] must have ${degree} coefficients, like dense[0]`);
        if (!row.every(Number.isFinite)) fail(`dense[${i}] has a non-finite coefficient`);
        if (!near(sum(row), b[i]!)) fail(`dense[${i}] gives b_${i}(1) = ${sum(row)}, not b[${i}] = ${b[i]}`);
      });
    }
  } else {
    if (!(m.gamma > 0)) fail(`gamma must be positive (got ${m.gamma})`);
    lower(m.C, 'C');
    vec(m.d, 'd'); vec(m.m, 'm'); vec(m.e, 'e');
    if (!(Number.isInteger(m.errorOrder) && m.errorOrder >= 1)) fail('errorOrder must be a positive integer');
    if (m.dense !== undefined) { vec(m.dense.h2, 'dense.h2'); vec(m.dense.h3, 'dense.h3'); }
    if (m.fsal && (!near(c[nStages - 1]!, 1) || a[nStages - 1]!.some((x, j) => !near(x, m.m[j]!)) || m.m[nStages - 1] !== 0)) {
      fail('fsal needs a last stage at c = 1 whose row of a equals m (and m of that stage 0)');
    }
  }
}
