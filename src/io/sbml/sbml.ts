/**
 * SBML Level 2 and 3 core → our model JSON (`ctwin import-sbml`), readable and editable.
 *
 * What each SBML component becomes (SBML L3V2 spec §4; L2V4 where it differs):
 * - species changed by reactions or a rate rule → a state. With hasOnlySubstanceUnits = false the
 *   state is the concentration and   d[S]/dt = Σ_r ν_{S,r}·v_r / size(compartment)   (kinetic laws
 *   are in amount per time, so they already include volume); with true it is the amount and the
 *   division is dropped. Initial value: initialConcentration, or initialAmount / size.
 * - species, compartments and parameters that stay constant → params (their `value`); with an
 *   assignment rule → a named expression; with a rate rule → a state.
 * - reactions → a named expression per reaction (its kinetic law; SBML lets math name a reaction
 *   for its rate); local parameters → params named <reaction>_<id>.
 * - initial assignments to states → the `initial` section (expressions of the parameters, so a
 *   changed parameter changes the initial state); to parameters or compartments → an expression.
 * - function definitions → inlined at each call (src/io/sbml/mathml.ts).
 * Refused, naming the element and its line: events, algebraic rules, delays, fast reactions,
 * non-constant stoichiometry, species in compartments whose size changes, required packages.
 * Ids that clash with the model language's names (t, e, pi, null, true, …) are renamed with a
 * trailing `_`; the `sbml` section keeps the map (PEtab tables name SBML ids).
 */
import type { MathNode } from 'mathjs';
import { mathjs } from '../../physics/mathjs.js';
import { InputError } from '../csv.js';
import { cnValue, mathToText, type MathContext } from './mathml.js';
import { childNamed, childrenNamed, listOf, parseXml, type XmlElement } from './xml.js';

/** Names our model language or mathjs's parser gives a meaning of their own. */
const CLASHING = new Set(['t', 'e', 'pi', 'nn', 'null', 'true', 'false', 'Infinity', 'NaN', 'not', 'and', 'or', 'xor', 'mod', 'to', 'in', 'end', 'undefined']);

/** An expression as mathjs prints it with only the parentheses it needs (readable model files). */
const tidy = (text: string) => mathjs.parse(text).toString({ parenthesis: 'auto', implicit: 'show' });

export interface SbmlImport {
  /** Our model JSON (parseModel accepts it). */
  spec: Record<string, unknown>;
  /** What the importer did that a reader should know (renamed ids, defaults taken). */
  notes: string[];
}

interface SpeciesInfo { id: string; compartment: string; hasOnlySubstanceUnits: boolean; boundary: boolean; constant: boolean }

/**
 * Our model JSON from SBML text (see the file comment for the mapping).
 * @example
 * const xml = '<sbml level="3" version="2"><model id="m">…</model></sbml>'; // the file's text
 * const { spec, notes } = importSbml(xml, 'model.xml');
 * const model = parseModel(spec); // ready for makeProblem and solve
 * notes; // e.g. ['"e" renamed "e_" (a name the model language reserves)']
 */
export function importSbml(text: string, file = 'model.xml'): SbmlImport {
  const root = parseXml(text, file);
  const fail = (message: string, el: XmlElement): never => { throw new InputError(`${file}:${el.line}:${el.column}: ${message}`); };
  if (root.name !== 'sbml') fail(`the root element is <${root.name}>, not <sbml>`, root);
  const level = Number(root.attrs.level), version = Number(root.attrs.version);
  if (level !== 2 && level !== 3) fail(`SBML level ${root.attrs.level ?? '(missing)'}: levels 2 and 3 are read`, root);
  // A package the model *requires* changes the meaning of core elements: refuse it. Optional ones
  // (layout, render) are annotations as far as simulation goes.
  for (const [key, value] of Object.entries(root.attrs)) {
    if (key === 'required' && value === 'true') fail('this model requires an SBML package (an attribute required="true" on <sbml>); only SBML core is supported', root);
  }
  const model = childNamed(root, 'model') ?? fail('no <model> element', root);
  const notes: string[] = [];

  for (const [list, what] of [['listOfEvents', 'events'], ['listOfConstraints', '']] as const) {
    const el = childNamed(model, list);
    if (el && el.children.length && what) fail(`${what} are not supported (<${el.children[0]!.name}> here); the engine integrates continuous models`, el.children[0]!);
    if (el && el.children.length && !what) notes.push(`${el.children.length} constraint(s) ignored: they check a simulation, they do not change it`);
  }
  for (const r of listOf(model, 'listOfRules', 'algebraicRule')) fail('algebraic rules are not supported (a DAE); rewrite it as an assignment rule', r);

  // Names: every SBML id in one namespace (SBML's SId space), clashing ones renamed.
  const taken = new Set<string>();
  const renamed: Record<string, string> = {};
  const idOf = (el: XmlElement, what: string) => {
    const id = el.attrs.id ?? fail(`a ${what} without an id`, el);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(id)) fail(`${what} id "${id}" is not an SBML SId`, el);
    return id;
  };
  const unique = (base: string) => { let n = base; while (taken.has(n) || CLASHING.has(n)) n += '_'; taken.add(n); return n; };
  const names = new Map<string, string>();
  const declare = (id: string, el: XmlElement) => {
    if (names.has(id)) fail(`id "${id}" is declared twice`, el);
    const n = unique(id);
    if (n !== id) { renamed[id] = n; notes.push(`"${id}" renamed "${n}" (a name the model language reserves)`); }
    names.set(id, n);
    return n;
  };

  const functions = new Map<string, { args: string[]; body: XmlElement }>();
  for (const f of listOf(model, 'listOfFunctionDefinitions', 'functionDefinition')) {
    const id = idOf(f, 'function definition');
    const math = childNamed(f, 'math') ?? fail(`function definition "${id}" has no <math>`, f);
    const lambda = childNamed(math, 'lambda') ?? fail(`function definition "${id}": <math> must hold a <lambda>`, math);
    const bvars = childrenNamed(lambda, 'bvar').map((b) => (childNamed(b, 'ci') ?? fail('<bvar> without <ci>', b)).text.trim());
    const body = lambda.children.filter((c) => c.name !== 'bvar');
    if (body.length !== 1) fail(`function definition "${id}": the <lambda> must end with one expression`, lambda);
    functions.set(id, { args: bvars, body: body[0]! });
  }
  const ctx: MathContext = {
    functions, fail,
    name: (id, el) => names.get(id) ?? fail(`"${id}" is not declared (not a species, compartment, parameter or reaction)`, el),
  };
  const math = (parent: XmlElement, what: string) => mathToText(childNamed(parent, 'math') ?? fail(`${what} has no <math>`, parent), ctx);

  // Declarations.
  const compartments = listOf(model, 'listOfCompartments', 'compartment');
  const speciesEls = listOf(model, 'listOfSpecies', 'species');
  const parameterEls = listOf(model, 'listOfParameters', 'parameter');
  const reactions = listOf(model, 'listOfReactions', 'reaction');
  for (const el of [...compartments, ...speciesEls, ...parameterEls, ...reactions]) declare(idOf(el, el.name), el);
  for (const f of functions.keys()) taken.add(f);

  // Species references with ids (L3) may be targets of rules: a stoichiometry that is computed.
  const stoichiometryIds = new Set(reactions.flatMap((r) => [...listOf(r, 'listOfReactants', 'speciesReference'), ...listOf(r, 'listOfProducts', 'speciesReference')]).map((sr) => sr.attrs.id).filter((x): x is string => !!x));
  const undeclared = (what: string, v: string, el: XmlElement): never => fail(stoichiometryIds.has(v)
    ? `${what} sets the stoichiometry "${v}" of a species reference: a computed stoichiometry is not supported`
    : `${what} for "${v}", which is not declared`, el);
  const rules = { assignment: new Map<string, XmlElement>(), rate: new Map<string, XmlElement>() };
  for (const r of childNamed(model, 'listOfRules')?.children ?? []) {
    if (r.name !== 'assignmentRule' && r.name !== 'rateRule') continue;
    const v = r.attrs.variable ?? fail(`<${r.name}> without a variable`, r);
    if (!names.has(v)) undeclared(`<${r.name}>`, v, r);
    if (rules.assignment.has(v) || rules.rate.has(v)) fail(`"${v}" has more than one rule`, r);
    (r.name === 'assignmentRule' ? rules.assignment : rules.rate).set(v, r);
  }
  const initialAssignments = new Map<string, XmlElement>();
  for (const ia of listOf(model, 'listOfInitialAssignments', 'initialAssignment')) {
    const s = ia.attrs.symbol ?? fail('<initialAssignment> without a symbol', ia);
    if (!names.has(s)) undeclared('<initialAssignment>', s, ia);
    if (rules.assignment.has(s)) fail(`"${s}" has both an initial assignment and an assignment rule`, ia);
    initialAssignments.set(s, ia);
  }

  const params: Record<string, number> = {};
  const expressions: Record<string, string> = {};
  const states: Record<string, number> = {};
  const equations: Record<string, string> = {};
  const initial: Record<string, string> = {};
  const values = new Map<string, number>(); // SBML id → its value at t0 where known (defaults, evaluation)
  const numberAttr = (el: XmlElement, key: string) => {
    const v = el.attrs[key];
    if (v === undefined) return undefined;
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) fail(`${key}="${v}" is not a finite number`, el);
    return x;
  };
  /**
   * A constant-valued entity (parameter, compartment, constant species): a param, or — with an
   * initial assignment — an expression of the others frozen at t0 (resolved below, once every
   * state's initial value is known: SBML evaluates initial assignments at t0 only).
   */
  const frozenAtT0 = new Set<string>();
  const constantEntity = (id: string, el: XmlElement, value: number | undefined, what: string) => {
    const ia = initialAssignments.get(id);
    if (ia) {
      expressions[names.get(id)!] = math(ia, `the initial assignment of "${id}"`);
      frozenAtT0.add(names.get(id)!);
      return;
    }
    if (value === undefined) fail(`${what} "${id}" has no value and no initial assignment or rule`, el);
    params[names.get(id)!] = value!;
    values.set(id, value!);
  };

  // Compartments.
  const compartmentSize = new Map<string, { constant: boolean }>();
  for (const c of compartments) {
    const id = c.attrs.id!, n = names.get(id)!;
    const constant = level === 3 ? c.attrs.constant !== 'false' : c.attrs.constant !== 'false';
    compartmentSize.set(id, { constant: constant && !rules.rate.has(id) && !rules.assignment.has(id) });
    const size = numberAttr(c, 'size') ?? numberAttr(c, 'volume');
    if (rules.assignment.has(id)) expressions[n] = math(rules.assignment.get(id)!, `the assignment rule of "${id}"`);
    else if (rules.rate.has(id)) {
      states[n] = size ?? NaN; equations[n] = math(rules.rate.get(id)!, `the rate rule of "${id}"`);
      if (initialAssignments.has(id)) initial[n] = math(initialAssignments.get(id)!, `the initial assignment of "${id}"`);
    } else constantEntity(id, c, size ?? (c.attrs.spatialDimensions === '0' ? 1 : undefined), 'compartment');
  }

  // Parameters.
  for (const p of parameterEls) {
    const id = p.attrs.id!, n = names.get(id)!, value = numberAttr(p, 'value');
    if (rules.assignment.has(id)) expressions[n] = math(rules.assignment.get(id)!, `the assignment rule of "${id}"`);
    else if (rules.rate.has(id)) {
      states[n] = value ?? NaN; equations[n] = math(rules.rate.get(id)!, `the rate rule of "${id}"`);
      if (initialAssignments.has(id)) initial[n] = math(initialAssignments.get(id)!, `the initial assignment of "${id}"`);
      else if (value === undefined) fail(`parameter "${id}" has a rate rule but no value`, p);
    } else constantEntity(id, p, value, 'parameter');
  }

  // Species.
  const species = new Map<string, SpeciesInfo>();
  for (const s of speciesEls) {
    const id = s.attrs.id!;
    const compartment = s.attrs.compartment ?? fail(`species "${id}" has no compartment`, s);
    if (!compartmentSize.has(compartment)) fail(`species "${id}" is in compartment "${compartment}", which is not declared`, s);
    species.set(id, {
      id, compartment, hasOnlySubstanceUnits: s.attrs.hasOnlySubstanceUnits === 'true',
      boundary: s.attrs.boundaryCondition === 'true', constant: s.attrs.constant === 'true',
    });
  }

  // Reactions: fluxes, and every species' Σ ν·v.
  const terms = new Map<string, string[]>();
  const localNames = new Map<string, string>();
  for (const r of reactions) {
    const id = r.attrs.id!;
    if (r.attrs.fast === 'true') fail(`reaction "${id}" is fast="true" (a quasi-steady-state assumption): not supported`, r);
    const law = childNamed(r, 'kineticLaw') ?? fail(`reaction "${id}" has no kinetic law`, r);
    const reactionName = names.get(id)!; // before local parameters (which may reuse the id) shadow it
    // Local parameters shadow global ids inside this kinetic law only.
    const locals = [...listOf(law, 'listOfParameters', 'parameter'), ...listOf(law, 'listOfLocalParameters', 'localParameter')];
    const saved = new Map<string, string | undefined>();
    for (const lp of locals) {
      const lid = idOf(lp, 'local parameter');
      const value = numberAttr(lp, 'value') ?? fail(`local parameter "${lid}" of reaction "${id}" has no value`, lp);
      const n = unique(`${id}_${lid}`);
      params[n] = value;
      saved.set(lid, names.get(lid));
      names.set(lid, n);
      localNames.set(`${id}/${lid}`, n);
    }
    expressions[reactionName] = math(law, `the kinetic law of reaction "${id}"`);
    for (const [lid, before] of saved) { if (before === undefined) names.delete(lid); else names.set(lid, before); }
    for (const [list, sign] of [['listOfReactants', -1], ['listOfProducts', 1]] as const) {
      for (const sr of listOf(r, list, 'speciesReference')) {
        const sid = sr.attrs.species ?? fail('<speciesReference> without a species', sr);
        if (!species.has(sid)) fail(`reaction "${id}" refers to species "${sid}", which is not declared`, sr);
        if (childNamed(sr, 'stoichiometryMath')) fail(`reaction "${id}": <stoichiometryMath> (a stoichiometry that changes) is not supported`, sr);
        if (level === 3 && sr.attrs.constant === 'false') fail(`reaction "${id}": a non-constant stoichiometry is not supported`, sr);
        if (sr.attrs.id && (rules.assignment.has(sr.attrs.id) || rules.rate.has(sr.attrs.id))) fail(`reaction "${id}": stoichiometry "${sr.attrs.id}" set by a rule is not supported`, sr);
        const nu = numberAttr(sr, 'stoichiometry') ?? (level === 2 ? 1 : fail(`reaction "${id}": the stoichiometry of "${sid}" is not given (SBML L3 requires it)`, sr));
        if (nu === 0) continue;
        const info = species.get(sid)!;
        if (info.boundary || info.constant) continue; // reactions do not change boundary or constant species
        terms.set(sid, [...(terms.get(sid) ?? []), `${sign * nu === 1 ? '' : sign * nu === -1 ? '-' : `${sign * nu} * `}${reactionName}`]);
      }
    }
  }

  for (const [id, info] of species) {
    const el = speciesEls.find((s) => s.attrs.id === id)!;
    const n = names.get(id)!;
    const size = values.get(info.compartment);
    const conc = numberAttr(el, 'initialConcentration'), amount = numberAttr(el, 'initialAmount');
    // The value of the state variable: a concentration unless hasOnlySubstanceUnits. Where the
    // conversion needs a compartment size that is itself computed, it is an expression (valueText).
    const c = names.get(info.compartment)!;
    let value: number | undefined, valueText: string | undefined;
    if (info.hasOnlySubstanceUnits) value = amount ?? (conc !== undefined && size !== undefined ? conc * size : undefined);
    else value = conc ?? (amount !== undefined && size !== undefined ? amount / size : undefined);
    if (value === undefined && !initialAssignments.has(id)) {
      if (info.hasOnlySubstanceUnits && conc !== undefined) valueText = `${conc} * ${c}`;
      if (!info.hasOnlySubstanceUnits && amount !== undefined) valueText = `${amount} / ${c}`;
    }
    if (rules.assignment.has(id)) { expressions[n] = math(rules.assignment.get(id)!, `the assignment rule of "${id}"`); continue; }
    const changed = terms.has(id) || rules.rate.has(id);
    const fixedVolume = compartmentSize.get(info.compartment)!.constant;
    if (!changed && (fixedVolume || info.hasOnlySubstanceUnits)) {
      if (valueText) { expressions[n] = valueText; frozenAtT0.add(n); } else constantEntity(id, el, value, 'species');
      continue;
    }
    if (!changed) {
      // Its amount stays, its concentration follows the compartment: [S](t) = amount / V(t).
      const amountName = unique(`${id}_amount`);
      if (initialAssignments.has(id)) {
        expressions[amountName] = `(${math(initialAssignments.get(id)!, `the initial assignment of "${id}"`)}) * ${c}`;
        frozenAtT0.add(amountName);
      } else if (amount !== undefined) params[amountName] = amount;
      else if (conc !== undefined) { expressions[amountName] = `${conc} * ${c}`; frozenAtT0.add(amountName); }
      else fail(`species "${id}" has no initial amount or concentration and no initial assignment`, el);
      expressions[n] = `${amountName} / ${c}`;
      continue;
    }
    if (terms.has(id) && rules.rate.has(id)) fail(`species "${id}" is changed both by reactions and by a rate rule`, rules.rate.get(id)!);
    if (!compartmentSize.get(info.compartment)!.constant) fail(`species "${id}" is in compartment "${info.compartment}", whose size changes: not supported`, el);
    if (rules.rate.has(id)) equations[n] = math(rules.rate.get(id)!, `the rate rule of "${id}"`);
    else {
      // SBML L3 conversion factor (species', else the model's): reaction extents → this species' amount.
      const factorId = el.attrs.conversionFactor ?? model.attrs.conversionFactor;
      if (factorId !== undefined && !names.has(factorId)) fail(`conversion factor "${factorId}" is not declared`, el);
      const factor = factorId !== undefined ? `${names.get(factorId)!} * ` : '';
      const flux = terms.get(id)!.join(' + ').replace(/\+ -/g, '- ');
      equations[n] = info.hasOnlySubstanceUnits ? `${factor}(${flux})` : `${factor}(${flux}) / ${names.get(info.compartment)!}`;
    }
    if (initialAssignments.has(id)) initial[n] = math(initialAssignments.get(id)!, `the initial assignment of "${id}"`);
    else if (valueText) initial[n] = valueText;
    else if (value === undefined) fail(`species "${id}" has no initial amount or concentration and no initial assignment`, el);
    states[n] = value ?? NaN;
  }

  // Initial values at t0 (SBML L3V2 §3.4.8: initial assignments and assignment rules hold together
  // at t0): every state, expression or time a state's initial assignment reads is replaced by its
  // own value at t0, recursively, so that the `initial` section reads parameters only.
  const resolving = new Set<string>();
  const atT0 = (name: string): MathNode => {
    if (resolving.has(name)) throw new InputError(`${file}: the initial values of ${[...resolving, name].join(' → ')} depend on each other`);
    resolving.add(name);
    try {
      if (initial[name] !== undefined) return resolveT0(initial[name]!);
      if (name in states) return mathjs.parse(String(states[name]));
      return resolveT0(expressions[name]!);
    } finally { resolving.delete(name); }
  };
  const resolveT0 = (text: string): MathNode => mathjs.parse(text).transform((node) => {
    if (!('isSymbolNode' in node) || !node.isSymbolNode) return node;
    const n = (node as unknown as { name: string }).name;
    if (n === 't') return mathjs.parse('0');
    if (n in states || n in expressions) return mathjs.parse(`(${atT0(n).toString()})`);
    return node;
  });
  for (const n of Object.keys(initial)) initial[n] = tidy(resolveT0(initial[n]!).toString());
  for (const [n, text] of Object.entries(initial)) {
    let v: unknown;
    try { v = mathjs.evaluate(text, { ...params, pi: Math.PI, e: Math.E }); } catch (err) { throw new InputError(`${file}: the initial value of "${n}" cannot be evaluated from the parameters (${(err as Error).message})`); }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${file}: the initial value of "${n}" is ${String(v)}, not a finite number`);
    states[n] = v;
  }
  for (const [n, v] of Object.entries(states)) if (!Number.isFinite(v)) throw new InputError(`${file}: "${n}" has no initial value`);
  // Constants set by initial assignments: their value at t0, as an expression of the parameters.
  for (const k of frozenAtT0) expressions[k] = resolveT0(expressions[k]!).toString();
  for (const k of Object.keys(expressions)) expressions[k] = tidy(expressions[k]!);
  for (const k of Object.keys(equations)) equations[k] = tidy(equations[k]!);
  if (Object.keys(states).length === 0) fail('the model has no state that changes in time (no reaction or rate rule changes anything)', model);

  const spec: Record<string, unknown> = {
    name: model.attrs.id ?? 'sbml_model',
    description: `Imported from ${file.replace(/^.*[\\/]/, '')} (SBML L${level}V${version}) by ctwin import-sbml${model.attrs.name && model.attrs.name !== model.attrs.id ? `: ${model.attrs.name}` : ''}`,
    states, params, ...(Object.keys(expressions).length ? { expressions } : {}), equations,
    ...(Object.keys(initial).length ? { initial } : {}),
    sbml: {
      level, version, renamed,
      species: Object.fromEntries([...species.values()].map((s) => [s.id, { compartment: s.compartment, amount: s.hasOnlySubstanceUnits }])),
      local_parameters: Object.fromEntries(localNames),
    },
  };
  return { spec, notes };
}
