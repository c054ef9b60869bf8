/**
 * Model specification (DESIGN.md "Model JSON, minimal form") → a validated `Model`.
 *
 * Every error names the file, line and column of the offending JSON value and the equation or
 * symbol at fault, because a user fixing a model file needs exactly that.
 */
import { readFileSync } from 'node:fs';
import { parseTree, findNodeAtLocation, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { parseExpression, ExpressionError, derivative, type Expr, type SymbolRef } from './expr.js';

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

export interface Model {
  name: string;
  /** States in declaration order; `value` is the default initial value. */
  states: ModelSymbol[];
  /** Parameters in declaration order; `value` is the default. */
  params: ModelSymbol[];
  /** dy_i/dt for state i, in state order. */
  equations: Expr[];
  /** Where the model came from, for messages. */
  source: string;
}

/** A bad model file. `toString()` gives `file:line:col: message`. */
export class ModelError extends Error {
  constructor(message: string, readonly file: string, readonly line?: number, readonly column?: number) {
    super(line !== undefined ? `${file}:${line}:${column}: ${message}` : `${file}: ${message}`);
    this.name = 'ModelError';
  }
}

const SECTION_KEYS = new Set(['name', 'states', 'params', 'equations', 'description']);
const QUANTITY_KEYS = new Set(['value', 'unit', 'min', 'max', 'scale', 'estimate', 'description', 'source']);
const RESERVED = new Set(['t', 'pi', 'e']);

/** Reads and validates a model file. */
export function loadModel(path: string): Model {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelError(`cannot read the model file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, path);
  }
  return parseModel(text, path);
}

/** Validates a model given as JSON text (or an object, which is serialised first). */
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
      fail(`unknown section "${key}" (expected name, states, params, equations)`, keyNode);
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

  const readSymbols = (key: 'states' | 'params'): Array<ModelSymbol & { node: Node }> =>
    members(section(key), key).map(([sym, keyNode, valueNode]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(sym)) fail(`"${sym}" is not a valid name (letters, digits, _; not starting with a digit)`, keyNode);
      if (RESERVED.has(sym)) fail(`"${sym}" is reserved (t is time, pi and e are constants); rename it`, keyNode);
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

  const resolve = (sym: string): SymbolRef | undefined => {
    if (sym === 't') return { kind: 'time' };
    const si = stateIndex.get(sym);
    if (si !== undefined) return { kind: 'state', index: si, name: sym };
    const pi = paramIndex.get(sym);
    if (pi !== undefined) return { kind: 'param', index: pi, name: sym };
    return undefined;
  };

  const equations: Array<Expr | undefined> = states.map(() => undefined);
  for (const [state, keyNode, valueNode] of members(section('equations'), 'equations')) {
    const i = stateIndex.get(state);
    if (i === undefined) fail(`equation for "${state}", which is not a state (states: ${states.map((s) => s.name).join(', ')})`, keyNode);
    if (valueNode.type !== 'string') fail(`equation for "${state}" must be a string expression`, valueNode);
    try {
      equations[i!] = parseExpression(valueNode.value as string, resolve);
    } catch (err) {
      if (err instanceof ExpressionError) {
        // Point at the offending symbol inside the string when we can find it (+1 for the quote).
        const at = err.symbol ? (valueNode.value as string).search(new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(err.symbol)}(?![A-Za-z0-9_])`)) : -1;
        const shift = at < 0 ? 0 : 1 + at;
        fail(`equation for "${state}": ${err.message}`, { ...valueNode, offset: valueNode.offset + shift });
      }
      throw err;
    }
  }
  const missing = states.filter((_, i) => equations[i] === undefined).map((s) => s.name);
  if (missing.length > 0) fail(`missing equation for state${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`, section('equations'));

  return {
    name,
    states: states.map(({ node: _n, ...s }) => s),
    params: params.map(({ node: _n, ...p }) => p),
    equations: equations as Expr[],
    source,
  };
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

/** ∂f_i/∂y_j (row-major) and ∂f_i/∂t, for implicit methods. */
export function symbolicJacobian(model: Model): { jacobian: Expr[]; timeDerivative: Expr[] } {
  const jacobian: Expr[] = [];
  for (const f of model.equations) {
    model.states.forEach((s, j) => jacobian.push(derivative(f, { kind: 'state', index: j, name: s.name })));
  }
  return { jacobian, timeDerivative: model.equations.map((f) => derivative(f, { kind: 'time' })) };
}
