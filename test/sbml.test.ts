/**
 * SBML import (issue 14): a selection of the SBML Test Suite's semantic cases, each imported,
 * simulated in f64 and compared with the suite's expected results by the suite's own criterion
 * (test/fixtures/sbml-test-suite/README.md); the features we refuse are refused with the element
 * and its line; the three PEtab benchmark models import; malformed files → exit 2, file:line:col,
 * nothing written.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { importSbml } from '../src/io/sbml/sbml.js';
import { makeProblem, parseModel, InputError } from '../src/index.js';
import { runCase } from '../bench/sbml-test-suite.mjs';

const SUITE = new URL('./fixtures/sbml-test-suite/', import.meta.url).pathname;
const PETAB = new URL('./fixtures/petab/', import.meta.url).pathname;
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const run = promisify(execFile);
const cases = readdirSync(SUITE).filter((d) => /^\d{5}$/.test(d));
const REFUSED: Record<string, RegExp> = {
  '00009': /no state that changes in time/, '00026': /events are not supported \(<event> here\)/, '00039': /algebraic rules are not supported/,
  '00051': /whose size changes: not supported/, '00068': /<stoichiometryMath>/, '00196': /<floor> is not supported/,
  '00870': /fast="true"/, '00937': /delays are not supported/, '00950': /<infinity\/>/, '01116': /<piecewise> without <otherwise>/,
  '01124': /requires an SBML package/, '01273': /<rem> is not supported/,
};

describe('SBML Test Suite (semantic cases, selection)', () => {
  it(`${cases.length - Object.keys(REFUSED).length} cases agree with the suite's results; ${Object.keys(REFUSED).length} unsupported ones are refused with the reason and the line`, async () => {
    expect(cases.length).toBe(66);
    const failures: string[] = [];
    for (const id of cases) {
      const r = await runCase(join(SUITE, id), id);
      if (REFUSED[id]) {
        if (r.outcome !== 'refused' || !REFUSED[id]!.test(r.why ?? '')) failures.push(`${id}: expected a refusal matching ${REFUSED[id]}, got ${r.outcome} ${r.why ?? ''}`);
      } else if (r.outcome !== 'pass') failures.push(`${id}: ${r.outcome} ${r.why ?? ''}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

describe('importSbml', () => {
  it('imports the three PEtab benchmark models: states, initial assignments as expressions of parameters, piecewise inputs', () => {
    const read = (m: string) => importSbml(readFileSync(join(PETAB, m, `model_${m}.xml`), 'utf8'), `model_${m}.xml`).spec as Record<string, Record<string, unknown>>;
    const boehm = read('Boehm_JProteomeRes2014');
    expect(Object.keys(boehm.states!)).toEqual(['STAT5A', 'STAT5B', 'pApB', 'pApA', 'pBpB', 'nucpApA', 'nucpApB', 'nucpBpB']);
    expect(boehm.initial).toEqual({ STAT5A: '207.6 * ratio', STAT5B: '207.6 - 207.6 * ratio' });
    expect(boehm.states!.STAT5A).toBeCloseTo(207.6 * 0.693, 12);
    expect(boehm.expressions!.BaF3_Epo).toBe('1.25e-7 * exp(-1 * Epo_degradation_BaF3 * t)');
    // Species in the nucleus (size 0.45): the reaction rate is divided by the compartment size.
    expect(boehm.equations!.nucpApA).toMatch(/\/ nuc$/);
    const model = parseModel(boehm);
    // The initial section follows the parameters: ratio = 0.5 splits STAT5 evenly.
    const params = Float64Array.from(model.params.map((q) => (q.name === 'ratio' ? 0.5 : q.value)));
    const problem = makeProblem(model, { t1: 1, params });
    expect(problem.initial[0]).toBeCloseTo(103.8, 12);
    expect(problem.initial[1]).toBeCloseTo(103.8, 12);
    const fujita = read('Fujita_SciSignal2010');
    expect(fujita.expressions!.EGF).toBe('(t <= EGF_end) ? EGF_rate * t + EGF_0 : 0');
    expect(parseModel(fujita).states).toHaveLength(9);
    expect(parseModel(read('Elowitz_Nature2000')).states).toHaveLength(8);
  });

  it('reads an <apply> around a lone expression as that expression (as libSBML does; Beer 2014 writes it)', () => {
    const { spec } = importSbml(wrap(reaction('<apply><times/><ci>k</ci><apply><apply><times/><ci>S</ci><cn>2</cn></apply></apply></apply>')), 'lone.xml');
    expect((spec as { expressions: Record<string, string> }).expressions.r).toBe('k * S * 2');
  });

  it('renames ids the model language reserves and keeps the map', () => {
    const sbml = `<?xml version="1.0"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"><model id="m">
<listOfCompartments><compartment id="C" size="2" constant="true"/></listOfCompartments>
<listOfSpecies><species id="e" compartment="C" initialConcentration="1" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/></listOfSpecies>
<listOfParameters><parameter id="null" value="0.5" constant="true"/><parameter id="pi" value="3" constant="true"/></listOfParameters>
<listOfReactions><reaction id="t" reversible="false"><listOfReactants><speciesReference species="e" stoichiometry="1" constant="true"/></listOfReactants>
<kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/><ci>null</ci><ci>e</ci><ci>C</ci><apply><divide/><ci>pi</ci><pi/></apply></apply></math></kineticLaw></reaction></listOfReactions>
</model></sbml>`;
    const { spec, notes } = importSbml(sbml, 'reserved.xml');
    const s = spec as { sbml: { renamed: Record<string, string> }; equations: Record<string, string>; expressions: Record<string, string> };
    expect(s.sbml.renamed).toEqual({ e: 'e_', null: 'null_', pi: 'pi_', t: 't_' });
    expect(s.expressions.t_).toBe('null_ * e_ * C * pi_ / pi');
    expect(s.equations.e_).toBe('-t_ / C');
    expect(notes).toHaveLength(4);
    const model = parseModel(spec);
    expect(model.states.map((q) => q.name)).toEqual(['e_']);
  });
});

/** A minimal valid L3V2 model with `body` spliced into <model>, to break one thing at a time. */
const wrap = (body: string, head = '<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">') => `<?xml version="1.0" encoding="UTF-8"?>
${head}
  <model id="m">
    <listOfCompartments><compartment id="C" size="1" constant="true"/></listOfCompartments>
    <listOfSpecies><species id="S" compartment="C" initialConcentration="1" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/></listOfSpecies>
    <listOfParameters><parameter id="k" value="1" constant="true"/></listOfParameters>
${body}
  </model>
</sbml>`;
const reaction = (math: string, extra = '') => `    <listOfReactions><reaction id="r" reversible="false"${extra}><listOfReactants><speciesReference species="S" stoichiometry="1" constant="true"/></listOfReactants>
      <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">${math}</math></kineticLaw></reaction></listOfReactions>`;
const decay = reaction('<apply><times/><ci>k</ci><ci>S</ci></apply>');

describe('ctwin import-sbml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctwin-sbml-'));
  it('writes model JSON that loads; --json says what it made', async () => {
    writeFileSync(join(dir, 'ok.xml'), wrap(decay));
    const { stdout } = await run('node', [CLI, 'import-sbml', join(dir, 'ok.xml'), '--out', join(dir, 'ok.json'), '--json']);
    expect(JSON.parse(stdout)).toMatchObject({ model: 'm', states: 1, params: 2, expressions: 1 });
    const spec = JSON.parse(readFileSync(join(dir, 'ok.json'), 'utf8'));
    expect(spec.equations.S).toBe('-r / C');
    expect(spec.expressions.r).toBe('k * S');
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not XML', '<sbml><model', /bad\.xml:\d+:\d+: not well-formed XML/],
    ['not SBML', '<?xml version="1.0"?><html/>', /the root element is <html>, not <sbml>/],
    ['SBML level 1', '<sbml level="1" version="2"><model/></sbml>', /SBML level 1: levels 2 and 3 are read/],
    ['no model', '<sbml level="3" version="2"></sbml>', /no <model> element/],
    ['an undeclared id in a kinetic law', wrap(reaction('<apply><times/><ci>kk</ci><ci>S</ci></apply>')), /bad\.xml:8:\d+: "kk" is not declared/],
    ['an event', wrap(`${decay}<listOfEvents><event id="e1"><trigger><math xmlns="http://www.w3.org/1998/Math/MathML"><true/></math></trigger></event></listOfEvents>`), /bad\.xml:\d+:\d+: events are not supported/],
    ['an algebraic rule', wrap(`${decay}<listOfRules><algebraicRule><math xmlns="http://www.w3.org/1998/Math/MathML"><ci>k</ci></math></algebraicRule></listOfRules>`), /algebraic rules are not supported/],
    ['a delay', wrap(reaction('<apply><csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/delay">delay</csymbol><ci>S</ci><cn>1</cn></apply>')), /delays are not supported/],
    ['an unknown MathML element', wrap(reaction('<apply><frobnicate/><ci>S</ci></apply>')), /<frobnicate> is not a MathML operator SBML allows/],
    ['a bad number', wrap(reaction('<apply><times/><cn>1.2.3</cn><ci>S</ci></apply>')), /<cn> "1\.2\.3" is not a finite number/],
    ['e-notation without <sep/>', wrap(reaction('<apply><times/><cn type="e-notation">1</cn><ci>S</ci></apply>')), /holds a mantissa, <sep\/> and an exponent/],
    ['piecewise without otherwise', wrap(reaction('<piecewise><piece><ci>S</ci><apply><lt/><ci>S</ci><cn>1</cn></apply></piece></piecewise>')), /<piecewise> without <otherwise>/],
    ['a comparison used as a number', wrap(reaction('<apply><lt/><ci>S</ci><cn>1</cn></apply>')), /<lt> gives true or false/],
    ['a wrong number of arguments', wrap(reaction('<apply><divide/><ci>S</ci></apply>')), /<divide> takes 2 arguments \(found 1\)/],
    ['a function called with the wrong arity', wrap(`<listOfFunctionDefinitions><functionDefinition id="f"><math xmlns="http://www.w3.org/1998/Math/MathML"><lambda><bvar><ci>x</ci></bvar><ci>x</ci></lambda></math></functionDefinition></listOfFunctionDefinitions>${reaction('<apply><ci>f</ci><ci>S</ci><ci>k</ci></apply>')}`), /function "f" takes 1 argument\(s\), called with 2/],
    ['a required package', wrap(decay, '<sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" xmlns:comp="http://www.sbml.org/sbml/level3/version1/comp/version1" level="3" version="1" comp:required="true">'), /requires an SBML package/],
    ['a fast reaction', wrap(reaction('<ci>S</ci>', ' fast="true"')), /fast="true"/],
    ['a missing kinetic law', wrap('<listOfReactions><reaction id="r" reversible="false"><listOfReactants><speciesReference species="S" stoichiometry="1" constant="true"/></listOfReactants></reaction></listOfReactions>'), /reaction "r" has no kinetic law/],
    ['a missing stoichiometry (L3)', wrap('<listOfReactions><reaction id="r" reversible="false"><listOfReactants><speciesReference species="S" constant="true"/></listOfReactants><kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><ci>k</ci></math></kineticLaw></reaction></listOfReactions>'), /the stoichiometry of "S" is not given/],
    ['a reaction with an undeclared species', wrap('<listOfReactions><reaction id="r" reversible="false"><listOfReactants><speciesReference species="X" stoichiometry="1" constant="true"/></listOfReactants><kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><ci>k</ci></math></kineticLaw></reaction></listOfReactions>'), /refers to species "X", which is not declared/],
    ['an id declared twice', wrap(`<listOfReactions><reaction id="k" reversible="false"><kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><ci>S</ci></math></kineticLaw></reaction></listOfReactions>`), /id "k" is declared twice/],
    ['a rule for an undeclared variable', wrap(`${decay}<listOfRules><assignmentRule variable="q"><math xmlns="http://www.w3.org/1998/Math/MathML"><cn>1</cn></math></assignmentRule></listOfRules>`), /<assignmentRule> for "q", which is not declared/],
    ['a parameter without a value', wrap(decay).replace('<parameter id="k" value="1" constant="true"/>', '<parameter id="k" constant="true"/>'), /parameter "k" has no value/],
    ['a non-finite value', wrap(decay).replace('value="1"', 'value="INF"'), /value="INF" is not a finite number/],
  ];
  for (const [what, xml, message] of bad) {
    // Concurrent: each case is a CLI process that mostly waits on start-up.
    it.concurrent(`${what}: exit 2, ${message}, nothing written`, async ({ expect }) => {
      const file = join(dir, `${what.replace(/\W+/g, '-')}-bad.xml`), out = file.replace(/\.xml$/, '.json');
      writeFileSync(file, xml);
      const err = await run('node', [CLI, 'import-sbml', file, '--out', out]).then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(err?.code, err?.stderr).toBe(2);
      expect(err?.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('the same errors from the API are InputErrors', () => {
    expect(() => importSbml(wrap(reaction('<apply><times/><ci>kk</ci><ci>S</ci></apply>')), 'api.xml')).toThrow(InputError);
  });
});
