#!/usr/bin/env node
/**
 * `ctwin` — the command-line face of condensate-twin. Usage texts and exit codes: ./usage.ts.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from './args.js';
import { COMMAND_USAGE, USAGE, commandHelp } from './usage.js';
import { runFiltered } from './dawn-filter.js';

// The commands are imported when run, not up front: a GPU command runs twice (once to filter
// Dawn's stderr, see ./dawn-filter.ts), and the parent then needs none of the engine, and
// `--help` or a bad flag answers without loading mathjs, Dawn and the rest (~1 s per process).

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
      const { DEMO_FLAGS, demoCommand } = await import('./demo.js');
      const flags = flagsOf('demo', rest, DEMO_FLAGS);
      if (flags.help) { out(commandHelp('demo')); return 0; }
      return demoCommand(flags, log);
    }
    case 'doctor': {
      const flags = flagsOf('doctor', rest, { verbose: { type: 'boolean' }, json: { type: 'boolean' } });
      if (flags.help) { out(commandHelp('doctor')); return 0; }
      const { doctorCommand } = await import('./doctor.js');
      return doctorCommand((line) => out(line + '\n'), flags.json);
    }
    case 'simulate': {
      const { SIMULATE_FLAGS, simulateCommand } = await import('./simulate.js');
      const flags = flagsOf('simulate', rest, SIMULATE_FLAGS);
      if (flags.help) { out(commandHelp('simulate')); return 0; }
      return simulateCommand(flags, log);
    }
    case 'gradient': {
      const { GRADIENT_FLAGS, gradientCommand } = await import('./gradient.js');
      const flags = flagsOf('gradient', rest, GRADIENT_FLAGS);
      if (flags.help) { out(commandHelp('gradient')); return 0; }
      await gradientCommand(flags, out, log);
      return 0;
    }
    case 'inspect': {
      const { INSPECT_FLAGS, inspectCommand } = await import('./data.js');
      const { flags, files } = flagsAndFiles('inspect', rest, INSPECT_FLAGS);
      if (flags.help) { out(commandHelp('inspect')); return 0; }
      return inspectCommand(files, flags, out);
    }
    case 'calibrate': {
      const { CALIBRATE_FLAGS, calibrateCommand } = await import('./calibrate.js');
      const { flags, files } = flagsAndFiles('calibrate', rest, CALIBRATE_FLAGS);
      if (flags.help) { out(commandHelp('calibrate')); return 0; }
      return calibrateCommand(files, flags, log);
    }
    case 'synergy': {
      const { SYNERGY_FLAGS, synergyCommand } = await import('./synergy.js');
      const flags = flagsOf('synergy', rest, SYNERGY_FLAGS);
      if (flags.help) { out(commandHelp('synergy')); return 0; }
      return synergyCommand(flags, log);
    }
    case 'combo': {
      const { COMBO_FLAGS, comboCommand } = await import('./combo.js');
      const flags = flagsOf('combo', rest, COMBO_FLAGS);
      if (flags.help) { out(commandHelp('combo')); return 0; }
      return comboCommand(flags, log);
    }
    case 'report': {
      const { REPORT_FLAGS, reportCommand } = await import('./report.js');
      const flags = flagsOf('report', rest, REPORT_FLAGS);
      if (flags.help) { out(commandHelp('report')); return 0; }
      return reportCommand(flags, log);
    }
    case 'import-sbml': {
      const { IMPORT_SBML_FLAGS, importSbmlCommand } = await import('./sbml.js');
      const { flags, files } = flagsAndFiles('import-sbml', rest, IMPORT_SBML_FLAGS);
      if (flags.help) { out(commandHelp('import-sbml')); return 0; }
      return importSbmlCommand(files, flags, log);
    }
    case 'petab': {
      const { PETAB_FLAGS, petabCommand } = await import('./petab.js');
      const { flags, files } = flagsAndFiles('petab', rest, PETAB_FLAGS);
      if (flags.help) { out(commandHelp('petab')); return 0; }
      return petabCommand(files, flags, log, out);
    }
    case 'convert': {
      const { CONVERT_FLAGS, convertCommand } = await import('./data.js');
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

/** Our error classes (bad input: exit 2) and a lost device (a clean message, exit 1); anything else is a bug (its stack). */
async function classify(err: unknown): Promise<{ bad: boolean; clean: boolean }> {
  // A usage error needs none of the engine's modules (a bad flag answers fast).
  if (err instanceof UsageError) return { bad: true, clean: true };
  const [{ ModelError }, { ProblemError }, { InputError }, { GpuDeviceLostError, GpuUnavailableError }] = await Promise.all([
    import('../physics/model.js'), import('../solvers/problem.js'), import('../io/csv.js'), import('../gpu/runtime.js'),
  ]);
  const bad = err instanceof ModelError || err instanceof ProblemError ||
    err instanceof InputError || err instanceof GpuUnavailableError;
  // A lost device is not a bug of ours, and --backend auto would have finished on the CPU.
  return { bad, clean: bad || err instanceof GpuDeviceLostError };
}

run(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  async (err: unknown) => {
    const { bad, clean } = await classify(err);
    process.stderr.write(`ctwin: ${clean ? (err as Error).message : (err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = bad ? 2 : 1;
  },
);
