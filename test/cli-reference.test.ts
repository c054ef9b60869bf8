/**
 * One source for the CLI's words (issue 13): every command's `--help` prints its entry of
 * src/cli/usage.ts, and the README's CLI reference is generated from the same entries
 * (scripts/cli-reference.mjs) — this test fails when either drifts.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { COMMAND_USAGE, EXIT_CODES, cliReference, commandHelp } from '../src/cli/usage.js';
import { DEMO_FLAGS } from '../src/cli/demo.js';
import { SIMULATE_FLAGS } from '../src/cli/simulate.js';
import { GRADIENT_FLAGS } from '../src/cli/gradient.js';
import { CALIBRATE_FLAGS } from '../src/cli/calibrate.js';
import { SYNERGY_FLAGS } from '../src/cli/synergy.js';
import { COMBO_FLAGS } from '../src/cli/combo.js';
import { REPORT_FLAGS } from '../src/cli/report.js';
import { CONVERT_FLAGS, INSPECT_FLAGS } from '../src/cli/data.js';
import { IMPORT_SBML_FLAGS } from '../src/cli/sbml.js';
import { PETAB_FLAGS } from '../src/cli/petab.js';

const run = promisify(execFile);
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;

describe('CLI reference', () => {
  it('the README holds the generated reference, word for word', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(cliReference());
    for (const [code] of EXIT_CODES) expect(readme).toContain(`| ${code} |`);
  });

  it('every command has --help, and it prints exactly its entry', async () => {
    const commands = Object.keys(COMMAND_USAGE);
    expect(commands).toEqual(['demo', 'doctor', 'simulate', 'gradient', 'calibrate', 'synergy', 'combo', 'report', 'inspect', 'import-sbml', 'petab', 'convert']);
    const outputs = await Promise.all(commands.map((c) => run('node', [CLI, c, '--help'])));
    outputs.forEach(({ stdout }, i) => expect(stdout).toBe(commandHelp(commands[i]!)));
    const { stdout: all } = await run('node', [CLI, '--help']);
    for (const c of commands) expect(all).toContain(`ctwin ${c}`);
  });

  it('every flag a command accepts is in its usage (a flag added without words fails here)', () => {
    const flags: Record<string, Record<string, unknown>> = {
      demo: DEMO_FLAGS, doctor: { verbose: {}, json: {} }, simulate: SIMULATE_FLAGS, gradient: GRADIENT_FLAGS, calibrate: CALIBRATE_FLAGS,
      synergy: SYNERGY_FLAGS, combo: COMBO_FLAGS, report: REPORT_FLAGS, inspect: INSPECT_FLAGS, convert: CONVERT_FLAGS, 'import-sbml': IMPORT_SBML_FLAGS, petab: PETAB_FLAGS,
    };
    for (const [command, accepted] of Object.entries(flags)) {
      for (const flag of Object.keys(accepted)) expect(COMMAND_USAGE[command], `${command} --${flag}`).toMatch(new RegExp(`--${flag}\\b`));
    }
  });
});
