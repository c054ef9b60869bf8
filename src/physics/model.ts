/**
 * Model specification (DESIGN.md "Model JSON, minimal form") → a validated `Model`.
 *
 * Every error names the file, line and column of the offending JSON value and the equation or
 * symbol at fault, because a user fixing a model file needs exactly that.
 */
import { parseTree, findNodeAtLocation, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { parseExpression, ExpressionError, derivative, substitute, type Expr, type SymbolRef } from './expr.js';
import { ACTIVATIONS, type Activation, type NeuralSpec } from './neural.js';
import { checkModelUnits } from './units.js';

/** Metadata a state or parameter value may carry (units are checked in the physics layer). */
export interface Quantity {
  value: number;
  unit?: string;
  min?: number;
  max?: number;
  scale?: 'linear' | 'log';
  estimate?: boolean;
}

export interface ModelSymbol extends Quantity {
  name: string;
}

/** A named expression of the state (`expressions`, `observables`), inlined down to states/params/t. */
export interface NamedExpr {
  name: string;
  expr: Expr;
  unit?: string;
}

/**
 * A quantity conserved up to a rate law, e.g. total TF T = (1−φ)c + φ·c_den with
 * dT/dt = k_syn − k_deg·T. `rate` may read the quantity itself through the placeholder
 * `{kind: 'expr', index: -1, name}`; `rateAt` substitutes what stands for it.
 */
export interface ConservedLaw {
  name: string;
  expr: Expr;
  rate: Expr;
  unit?: string;
}

export interface Model {
  name: string;
  /** Unit of t when the model declares units (then every state and parameter has one). */
  timeUnit?: string;
  /** States in declaration order; `value` is the default initial value. */
  states: ModelSymbol[];
  /** Parameters in declaration order; `value` is the default. */
  params: ModelSymbol[];
  /** Named intermediates, already inlined wherever they are used. */
  expressions: NamedExpr[];
  /** dy_i/dt for state i, in state order (neural terms included, as `nn` symbols). */
  equations: Expr[];
  observables: NamedExpr[];
  conserved: ConservedLaw[];
  neural?: NeuralSpec;
  /**
   * Optional map applied to the state after every accepted step (y ← projection(t, y, p)), e.g.
   * onto a conserved manifold (src/physics/conservation.ts). Absent for a model as written.
   */
  projection?: Expr[];
  /**
   * Initial values as expressions of the parameters, per state (undefined: the state's `value`);
   * SBML initial assignments. makeProblem evaluates them for each trajectory's parameters.
   */
  initial?: Array<Expr | undefined>;
  /** Where the model came from, for messages. */
  source: string;
}

/** The rate law of `law` with `value` standing for the conserved quantity. */
export const rateAt = (law: ConservedLaw, value: Expr): Expr =>
  substitute(law.rate, (r) => (r.kind === 'expr' && r.index === -1 ? value : undefined));

/** A bad model file. `toString()` gives `file:line:col: message`. */
export class ModelError extends Error {
  constructor(message: string, readonly file: string, readonly line?: number, readonly column?: number) {
    super(line !== undefined ? `${file}:${line}:${column}: ${message}` : `${file}: ${message}`);
    this.name = 'ModelError';
  }
}

const SECTION_KEYS = new Set(['name', 'description', 'time_unit', 'states', 'params', 'expressions', 'equations', 'initial', 'observables', 'conserved', 'neural', 'calibration', 'sbml']);
const QUANTITY_KEYS = new Set(['value', 'unit', 'min', 'max', 'scale', 'estimate', 'description', 'source']);
const RESERVED = new Set(['t', 'pi', 'e', 'nn']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NEURAL_KEYS = new Set(['inputs', 'outputs', 'hidden', 'activation', 'seed', 'description']);

/** Validates a model given as JSON text (or an object, which is serialised first).
 * @example
 * const decay = parseModel({ name: 'decay', states: { x: 1 }, params: { k: 0.5 }, equations: { x: '-k*x' } });
 */
export function parseModel(input: string | object, source = '<model>'): Model {
  const text = typeof input === 'string' ? input : JSON.stringify(input, null, 2);
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const where = (offset: number): [number, number] => {
    let lo = 0, hi = lineStarts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (lineStarts[mid]! <= offset) lo = mid; else hi = mid - 1; }
    return [lo + 1, offset - lineStarts[lo]! + 1];
  };
  const fail = (message: string, node?: Node): never => {
    if (!node) throw new ModelError(message, source);
    const [line, col] = where(node.offset);
    throw new ModelError(message, source, line, col);
  };

  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length > 0 || !root) {
    const e = errors[0];
    const [line, col] = where(e?.offset ?? 0);
    throw new ModelError(`invalid JSON (${e ? printParseErrorCode(e.error) : 'empty file'})`, source, line, col);
  }
  if (root.type !== 'object') fail('a model must be a JSON object with "states", "params" and "equations"', root);

  const members = (obj: Node, what: string): Array<[string, Node, Node]> => {
    if (obj.type !== 'object') fail(`"${what}" must be an object`, obj);
    const seen = new Map<string, Node>();
    return (obj.children ?? []).map((prop) => {
      const [keyNode, valueNode] = prop.children as [Node, Node];
      const key = keyNode.value as string;
      if (seen.has(key)) fail(`duplicate name "${key}" in "${what}"`, keyNode);
      seen.set(key, keyNode);
      return [key, keyNode, valueNode];
    });
  };

  for (const [key, keyNode] of members(root, 'model')) {
    if (!SECTION_KEYS.has(key)) {
      fail(`unknown section "${key}" (expected ${[...SECTION_KEYS].join(', ')})`, keyNode);
    }
  }
  const nameNode = findNodeAtLocation(root, ['name']);
  if (nameNode && nameNode.type !== 'string') fail('"name" must be a string', nameNode);
  const name = (nameNode?.value as string | undefined) ?? 'model';

  const section = (key: string): Node => {
    const node = findNodeAtLocation(root, [key]);
    if (!node) fail(`missing section "${key}"`, root);
    return node!;
  };

  const checkName = (sym: string, keyNode: Node) => {
    if (!NAME.test(sym)) fail(`"${sym}" is not a valid name (letters, digits, _; not starting with a digit)`, keyNode);
    if (RESERVED.has(sym)) fail(`"${sym}" is reserved (t is time, pi and e are constants, nn the neural term); rename it`, keyNode);
  };

  const readSymbols = (key: 'states' | 'params'): Array<ModelSymbol & { node: Node }> =>
    members(section(key), key).map(([sym, keyNode, valueNode]) => {
      checkName(sym, keyNode);
      return { name: sym, ...readQuantity(sym, valueNode, key, fail), node: keyNode };
    });

  const states = readSymbols('states');
  const params = readSymbols('params');
  if (states.length === 0) fail('"states" is empty: a model needs at least one state', section('states'));
  const stateIndex = new Map(states.map((s, i) => [s.name, i]));
  const paramIndex = new Map(params.map((p, i) => [p.name, i]));
  for (const p of params) {
    if (stateIndex.has(p.name)) fail(`duplicate name "${p.name}": it is both a state and a parameter`, p.node);
  }

  // Named intermediates: parsed with references to each other, then inlined (cycles are errors).
  const exprSection = findNodeAtLocation(root, ['expressions']);
  const exprMembers = exprSection ? members(exprSection, 'expressions') : [];
  const exprIndex = new Map<string, number>();
  for (const [sym, keyNode] of exprMembers) {
    checkName(sym, keyNode);
    if (stateIndex.has(sym) || paramIndex.has(sym)) fail(`duplicate name "${sym}": it is already a ${stateIndex.has(sym) ? 'state' : 'parameter'}`, keyNode);
    exprIndex.set(sym, exprIndex.size);
  }

  const resolve = (sym: string): SymbolRef | undefined => {
    if (sym === 't') return { kind: 'time' };
    const si = stateIndex.get(sym);
    if (si !== undefined) return { kind: 'state', index: si, name: sym };
    const pi = paramIndex.get(sym);
    if (pi !== undefined) return { kind: 'param', index: pi, name: sym };
    const ei = exprIndex.get(sym);
    if (ei !== undefined) return { kind: 'expr', index: ei, name: sym };
    return undefined;
  };

  /** Parses the string at `valueNode`; errors point at the offending symbol inside the string. */
  const parseAt = (valueNode: Node, what: string, res: (s: string) => SymbolRef | undefined = resolve): Expr => {
    if (valueNode.type !== 'string') fail(`${what} must be a string expression`, valueNode);
    try {
      return parseExpression(valueNode.value as string, res);
    } catch (err) {
      if (err instanceof ExpressionError) {
        const at = err.symbol ? (valueNode.value as string).search(new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(err.symbol)}(?![A-Za-z0-9_])`)) : -1;
        const shift = at < 0 ? 0 : 1 + at; // +1 for the opening quote
        fail(`${what}: ${err.message}`, { ...valueNode, offset: valueNode.offset + shift });
      }
      throw err;
    }
  };

  const rawExprs = exprMembers.map(([sym, , valueNode]) => parseAt(valueNode, `expression "${sym}"`));
  const inlined: Array<Expr | undefined> = rawExprs.map(() => undefined);
  const inlining: number[] = [];
  const inlineExpr = (i: number): Expr => {
    if (inlined[i]) return inlined[i]!;
    if (inlining.includes(i)) {
      const cycle = [...inlining.slice(inlining.indexOf(i)), i].map((k) => exprMembers[k]![0]).join(' → ');
      fail(`expression "${exprMembers[i]![0]}" depends on itself (${cycle})`, exprMembers[i]![1]);
    }
    inlining.push(i);
    inlined[i] = inline(rawExprs[i]!);
    inlining.pop();
    return inlined[i]!;
  };
  const inline = (e: Expr): Expr => substitute(e, (r) => (r.kind === 'expr' && r.index >= 0 ? inlineExpr(r.index) : undefined));
  const expressions = exprMembers.map(([sym], i) => ({ name: sym, expr: inlineExpr(i) }));

  const equations: Array<Expr | undefined> = states.map(() => undefined);
  for (const [state, keyNode, valueNode] of members(section('equations'), 'equations')) {
    const i = stateIndex.get(state);
    if (i === undefined) fail(`equation for "${state}", which is not a state (states: ${states.map((s) => s.name).join(', ')})`, keyNode);
    equations[i!] = inline(parseAt(valueNode, `equation for "${state}"`));
  }
  const missing = states.filter((_, i) => equations[i] === undefined).map((s) => s.name);
  if (missing.length > 0) fail(`missing equation for state${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`, section('equations'));

  // Observables: "name": "expr" or {"expression": "…", "unit": "…"}.
  const taken = new Set([...stateIndex.keys(), ...paramIndex.keys(), ...exprIndex.keys()]);
  const readNamedExprs = (key: 'observables' | 'conserved') => {
    const node = findNodeAtLocation(root, [key]);
    return node ? members(node, key) : [];
  };
  const observables: NamedExpr[] = readNamedExprs('observables').map(([sym, keyNode, valueNode]) => {
    checkName(sym, keyNode);
    if (valueNode.type === 'string') return { name: sym, expr: inline(parseAt(valueNode, `observable "${sym}"`)) };
    const fields = objectFields(valueNode, `observable "${sym}"`, ['expression', 'unit', 'description'], fail);
    if (!fields.expression) fail(`observable "${sym}" needs an "expression"`, valueNode);
    return { name: sym, expr: inline(parseAt(fields.expression!, `observable "${sym}"`)), unit: stringField(fields.unit, 'unit', fail) };
  });

  // Conserved laws: {"expression": "…", "rate": "…", "unit": "…"}; the rate may read the quantity by its name.
  const conserved: ConservedLaw[] = readNamedExprs('conserved').map(([sym, keyNode, valueNode]) => {
    checkName(sym, keyNode);
    if (taken.has(sym)) fail(`duplicate name "${sym}": conserved quantities need a name of their own`, keyNode);
    const fields = objectFields(valueNode, `conserved quantity "${sym}"`, ['expression', 'rate', 'unit', 'description'], fail);
    if (!fields.expression) fail(`conserved quantity "${sym}" needs an "expression" (the quantity as a function of the states)`, valueNode);
    if (!fields.rate) fail(`conserved quantity "${sym}" needs a "rate" (its rate law, e.g. "k_syn - k_deg*${sym}", or "0")`, valueNode);
    const self = (name: string): SymbolRef | undefined => (name === sym ? { kind: 'expr', index: -1, name: sym } : resolve(name));
    return {
      name: sym,
      expr: inline(parseAt(fields.expression!, `conserved quantity "${sym}"`)),
      rate: inline(parseAt(fields.rate!, `rate of conserved quantity "${sym}"`, self)),
      unit: stringField(fields.unit, 'unit', fail),
    };
  });

  const neuralNode = findNodeAtLocation(root, ['neural']);
  const neural = neuralNode ? readNeural(neuralNode, (n, w) => inline(parseAt(n, w)), stateIndex, fail) : undefined;
  if (neural) {
    neural.outputs.forEach(({ state, scale }, j) => {
      const term: Expr = { k: 'mul', a: { k: 'num', v: scale }, b: { k: 'sym', ref: { kind: 'nn', index: j } } };
      equations[state] = { k: 'add', a: equations[state]!, b: term };
    });
  }

  // Initial values from the parameters: "initial": {"S": "207.6*ratio"} (the states' values stay the
  // defaults at the model's own parameter values). Only parameters, expressions of parameters and
  // constants may appear: the state at t0 is what is being defined.
  const initialNode = findNodeAtLocation(root, ['initial']);
  let initial: Array<Expr | undefined> | undefined;
  if (initialNode) {
    initial = states.map(() => undefined);
    for (const [state, keyNode, valueNode] of members(initialNode, 'initial')) {
      const i = stateIndex.get(state);
      if (i === undefined) fail(`initial value for "${state}", which is not a state`, keyNode);
      const e = inline(parseAt(valueNode, `initial value of "${state}"`));
      let bad: string | undefined;
      substitute(e, (r) => { if (r.kind !== 'param') bad ??= r.kind === 'time' ? 't' : r.kind === 'state' ? r.name : r.kind; return undefined; });
      if (bad) fail(`initial value of "${state}" depends on ${bad === 't' ? 'time' : `"${bad}"`}; it may use parameters and constants only`, valueNode);
      initial[i!] = e;
    }
  }
  const sbmlNode = findNodeAtLocation(root, ['sbml']);
  if (sbmlNode && sbmlNode.type !== 'object') fail('"sbml" must be an object (written by ctwin import-sbml)', sbmlNode);

  const timeUnitNode = findNodeAtLocation(root, ['time_unit']);
  if (timeUnitNode && timeUnitNode.type !== 'string') fail('"time_unit" must be a string such as "s" or "min"', timeUnitNode);

  const model: Model = {
    name,
    timeUnit: timeUnitNode?.value as string | undefined,
    states: states.map(({ node: _n, ...s }) => s),
    params: params.map(({ node: _n, ...p }) => p),
    expressions,
    equations: equations as Expr[],
    observables,
    conserved,
    neural,
    ...(initial ? { initial } : {}),
    source,
  };
  // Units: checked whenever the model declares any (DESIGN.md: every equation dimensionally consistent).
  const unitErr = checkModelUnits(model);
  if (unitErr) {
    const node = unitErr.at.section === 'time_unit' ? timeUnitNode : findNodeAtLocation(root, [unitErr.at.section, unitErr.at.name]);
    fail(unitErr.message, node ?? root);
  }
  return model;
}

/** The members of a JSON object with the allowed keys only. */
function objectFields(node: Node, what: string, allowed: string[], fail: (m: string, n?: Node) => never): Record<string, Node | undefined> {
  if (node.type !== 'object') fail(`${what} must be an object {${allowed.map((k) => `"${k}": …`).join(', ')}}`, node);
  const out: Record<string, Node | undefined> = {};
  for (const prop of node.children ?? []) {
    const [k, v] = prop.children as [Node, Node];
    if (!allowed.includes(k.value as string)) fail(`unknown field "${k.value}" in ${what} (allowed: ${allowed.join(', ')})`, k);
    out[k.value as string] = v;
  }
  return out;
}

function stringField(node: Node | undefined, what: string, fail: (m: string, n?: Node) => never): string | undefined {
  if (!node) return undefined;
  if (node.type !== 'string') fail(`"${what}" must be a string`, node);
  return node.value as string;
}

/**
 * "neural": {"inputs": ["c", "phi", "log(P + 1)"], "outputs": ["c", {"state": "phi", "scale": 0.01}],
 *            "hidden": [16, 16], "activation": "tanh", "seed": 1}
 */
function readNeural(node: Node, parseAt: (n: Node, what: string) => Expr, stateIndex: Map<string, number>, fail: (m: string, n?: Node) => never): NeuralSpec {
  const f = objectFields(node, '"neural"', [...NEURAL_KEYS], fail);
  const list = (key: string, n: Node | undefined): Node[] => {
    if (!n) fail(`"neural" needs "${key}"`, node);
    if (n!.type !== 'array' || (n!.children ?? []).length === 0) fail(`"neural.${key}" must be a non-empty array`, n);
    return n!.children!;
  };
  const inputNodes = list('inputs', f.inputs);
  const inputs = inputNodes.map((n, m) => parseAt(n, `neural input ${m + 1}`));
  const seenOut = new Set<number>();
  const outputs = list('outputs', f.outputs).map((n) => {
    let stateNode = n, scale = 1;
    if (n.type === 'object') {
      const o = objectFields(n, 'a neural output', ['state', 'scale'], fail);
      if (!o.state) fail('a neural output needs "state" (the derivative it adds to)', n);
      stateNode = o.state!;
      if (o.scale) {
        if (o.scale.type !== 'number' || !Number.isFinite(o.scale.value)) fail('"scale" of a neural output must be a finite number', o.scale);
        scale = o.scale.value as number;
      }
    }
    if (stateNode.type !== 'string') fail('a neural output must name a state, e.g. "phi" or {"state": "phi", "scale": 0.01}', stateNode);
    const k = stateIndex.get(stateNode.value as string);
    if (k === undefined) fail(`neural output "${stateNode.value}" is not a state (states: ${[...stateIndex.keys()].join(', ')})`, stateNode);
    if (seenOut.has(k!)) fail(`neural output "${stateNode.value}" is listed twice`, stateNode);
    seenOut.add(k!);
    return { state: k!, scale };
  });
  const hidden = f.hidden === undefined ? [16, 16] : (() => {
    if (f.hidden.type !== 'array') fail('"neural.hidden" must be an array of layer widths, e.g. [16, 16]', f.hidden);
    return (f.hidden.children ?? []).map((h) => {
      if (h.type !== 'number' || !Number.isInteger(h.value) || h.value < 1 || h.value > 256) fail('each hidden layer width must be an integer from 1 to 256', h);
      return h.value as number;
    });
  })();
  let activation: Activation = 'tanh';
  if (f.activation) {
    if (!ACTIVATIONS.includes(f.activation.value)) fail(`unknown activation "${f.activation.value}" (choose ${ACTIVATIONS.join(', ')})`, f.activation);
    activation = f.activation.value;
  }
  let seed = 1;
  if (f.seed) {
    if (f.seed.type !== 'number' || !Number.isInteger(f.seed.value) || f.seed.value < 0) fail('"neural.seed" must be a non-negative integer', f.seed);
    seed = f.seed.value as number;
  }
  return { inputs, inputNames: inputNodes.map((n) => String(n.value)), outputs, hidden, activation, seed };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function readQuantity(sym: string, node: Node, section: string, fail: (m: string, n?: Node) => never): Quantity {
  const checkNumber = (v: Node, what: string): number => {
    if (v.type !== 'number') fail(`${what} of "${sym}" in "${section}" must be a number`, v);
    const x = v.value as number;
    if (!Number.isFinite(x)) fail(`${what} of "${sym}" in "${section}" is not finite (${v.value})`, v);
    return x;
  };
  if (node.type === 'number') return { value: checkNumber(node, 'the value') };
  if (node.type !== 'object') fail(`"${sym}" in "${section}" must be a number or {"value": …, "unit": …}`, node);
  const q: Partial<Quantity> = {};
  for (const prop of node.children ?? []) {
    const [k, v] = prop.children as [Node, Node];
    const key = k.value as string;
    if (!QUANTITY_KEYS.has(key)) fail(`unknown field "${key}" for "${sym}" (allowed: ${[...QUANTITY_KEYS].join(', ')})`, k);
    if (key === 'value' || key === 'min' || key === 'max') q[key] = checkNumber(v, `"${key}"`);
    if (key === 'unit') { if (v.type !== 'string') fail(`"unit" of "${sym}" must be a string`, v); q.unit = v.value; }
    if (key === 'scale') { if (v.value !== 'linear' && v.value !== 'log') fail(`"scale" of "${sym}" must be "linear" or "log"`, v); q.scale = v.value; }
    if (key === 'estimate') { if (v.type !== 'boolean') fail(`"estimate" of "${sym}" must be true or false`, v); q.estimate = v.value; }
  }
  if (q.value === undefined) fail(`"${sym}" in "${section}" has no "value"`, node);
  if (q.min !== undefined && q.max !== undefined && q.min > q.max) fail(`"${sym}": min ${q.min} > max ${q.max}`, node);
  return q as Quantity;
}

/** ∂f_i/∂y_j (row-major) and ∂f_i/∂t, for implicit methods (neural terms by the chain rule). */
export function symbolicJacobian(model: Model): { jacobian: Expr[]; timeDerivative: Expr[] } {
  const jacobian: Expr[] = [];
  const u = model.neural?.inputs;
  for (const f of model.equations) {
    model.states.forEach((s, j) => jacobian.push(derivative(f, { kind: 'state', index: j, name: s.name }, u)));
  }
  return { jacobian, timeDerivative: model.equations.map((f) => derivative(f, { kind: 'time' }, u)) };
}
