#!/usr/bin/env node
/**
 * `ctwin` — the command-line face of condensate-twin. Usage texts and exit codes: ./usage.ts.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ModelError } from '../physics/model.js';
import { ProblemError } from '../solvers/problem.js';
import { InputError } from '../io/csv.js';
import { GpuDeviceLostError, GpuUnavailableError } from '../gpu/runtime.js';
import { UsageError } from './args.js';
import { COMMAND_USAGE, USAGE, commandHelp } from './usage.js';
import { DEMO_FLAGS, demoCommand } from './demo.js';
import { IMPORT_SBML_FLAGS, importSbmlCommand } from './sbml.js';
import { PETAB_FLAGS, petabCommand } from './petab.js';
import { SIMULATE_FLAGS, simulateCommand } from './simulate.js';
import { doctorCommand } from './doctor.js';
import { GRADIENT_FLAGS, gradientCommand } from './gradient.js';
import { runFiltered } from './dawn-filter.js';
import { CONVERT_FLAGS, INSPECT_FLAGS, convertCommand, inspectCommand } from './data.js';
import { CALIBRATE_FLAGS, calibrateCommand } from './calibrate.js';
import { SYNERGY_FLAGS, synergyCommand } from './synergy.js';
import { COMBO_FLAGS, comboCommand } from './combo.js';
import { REPORT_FLAGS, reportCommand } from './report.js';

const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;

/** Parses the flags of one command; a mistake is a UsageError that shows the command's usage. */
function flagsOf<T extends Record<string, { type: 'string' | 'boolean' }>>(command: string, args: string[], options: T) {
  return flagsAndFiles(command, args, options, false).flags;
}

/** As flagsOf, for commands that also take file names (positionals). */
function flagsAndFiles<T extends Record<string, { type: 'string' | 'boolean' }>>(command: string, args: string[], options: T, allowPositionals = true) {
  try {
    const parsed = parseArgs({ args, options: { ...options, ...HELP_FLAG }, strict: true, allowPositionals });
    return { flags: parsed.values as { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string } & { help?: boolean }, files: parsed.positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}\nusage: ${COMMAND_USAGE[command]}`);
  }
}

const version = () => (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const log = (line: string) => process.stderr.write(line + '\n');
  const out = (text: string) => process.stdout.write(text);
  switch (command) {
    case 'demo': {
      const flags = flagsOf('demo', rest, DEMO_FLAGS);
      if (flags.help) { out(commandHelp('demo')); return 0; }
      return demoCommand(flags, log);
    }
    case 'doctor': {
      const flags = flagsOf('doctor', rest, { verbose: { type: 'boolean' }, json: { type: 'boolean' } });
      if (flags.help) { out(commandHelp('doctor')); return 0; }
      return doctorCommand((line) => out(line + '\n'), flags.json);
    }
    case 'simulate': {
      const flags = flagsOf('simulate', rest, SIMULATE_FLAGS);
      if (flags.help) { out(commandHelp('simulate')); return 0; }
      return simulateCommand(flags, log);
    }
    case 'gradient': {
      const flags = flagsOf('gradient', rest, GRADIENT_FLAGS);
      if (flags.help) { out(commandHelp('gradient')); return 0; }
      await gradientCommand(flags, out, log);
      return 0;
    }
    case 'inspect': {
      const { flags, files } = flagsAndFiles('inspect', rest, INSPECT_FLAGS);
      if (flags.help) { out(commandHelp('inspect')); return 0; }
      return inspectCommand(files, flags, out);
    }
    case 'calibrate': {
      const { flags, files } = flagsAndFiles('calibrate', rest, CALIBRATE_FLAGS);
      if (flags.help) { out(commandHelp('calibrate')); return 0; }
      return calibrateCommand(files, flags, log);
    }
    case 'synergy': {
      const flags = flagsOf('synergy', rest, SYNERGY_FLAGS);
      if (flags.help) { out(commandHelp('synergy')); return 0; }
      return synergyCommand(flags, log);
    }
    case 'combo': {
      const flags = flagsOf('combo', rest, COMBO_FLAGS);
      if (flags.help) { out(commandHelp('combo')); return 0; }
      return comboCommand(flags, log);
    }
    case 'report': {
      const flags = flagsOf('report', rest, REPORT_FLAGS);
      if (flags.help) { out(commandHelp('report')); return 0; }
      return reportCommand(flags, log);
    }
    case 'import-sbml': {
      const { flags, files } = flagsAndFiles('import-sbml', rest, IMPORT_SBML_FLAGS);
      if (flags.help) { out(commandHelp('import-sbml')); return 0; }
      return importSbmlCommand(files, flags, log);
    }
    case 'petab': {
      const { flags, files } = flagsAndFiles('petab', rest, PETAB_FLAGS);
      if (flags.help) { out(commandHelp('petab')); return 0; }
      return petabCommand(files, flags, log, out);
    }
    case 'convert': {
      const { flags, files } = flagsAndFiles('convert', rest, CONVERT_FLAGS);
      if (flags.help) { out(commandHelp('convert')); return 0; }
      return convertCommand(files, flags, log);
    }
    case undefined: case '-h': case '--help': case 'help':
      out(USAGE);
      return 0;
    case '-v': case '--version': case 'version':
      out(`ctwin (condensate-twin) ${version()}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  }
}

/** True when this run may create a GPU device, whose driver warnings are then filtered out. */
function mayUseGpu(argv: string[]): boolean {
  const [command, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) return false;
  if (command === 'doctor') return !rest.includes('--verbose');
  if (command !== 'simulate' && command !== 'gradient' && command !== 'calibrate' && command !== 'combo' && command !== 'demo') return false;
  const i = rest.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
  const backend = i < 0 ? 'auto' : rest[i]!.includes('=') ? rest[i]!.split('=')[1] : rest[i + 1];
  // calibrate's auto is the f64 CPU path (as gradient's); simulate's auto may pick the GPU.
  return command === 'calibrate' ? backend === 'gpu' : backend !== 'cpu';
}

function run(argv: string[]): Promise<number> {
  if (!process.env.CTWIN_STDERR_FILTERED && mayUseGpu(argv)) return runFiltered(fileURLToPath(import.meta.url), argv);
  return main(argv);
}

run(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const bad = err instanceof UsageError || err instanceof ModelError || err instanceof ProblemError ||
      err instanceof InputError || err instanceof GpuUnavailableError;
    // A lost device is not a bug of ours: a clean message (exit 1), and --backend auto would have finished on the CPU.
    const clean = bad || err instanceof GpuDeviceLostError;
    process.stderr.write(`ctwin: ${clean ? (err as Error).message : (err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = bad ? 2 : 1;
  },
);
