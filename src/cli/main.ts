#!/usr/bin/env node
/**
 * `ctwin` — the command-line face of condensate-twin.
 * Exit codes: 0 success, 2 bad input (message names file, line, column), 1 internal failure.
 */
import { parseArgs } from 'node:util';
import { ModelError } from '../physics/model.js';
import { ProblemError } from '../solvers/problem.js';
import { InputError } from '../io/csv.js';
import { GpuUnavailableError } from '../gpu/runtime.js';
import { UsageError } from './args.js';
import { SIMULATE_FLAGS, simulateCommand } from './simulate.js';
import { doctorCommand } from './doctor.js';
import { GRADIENT_FLAGS, gradientCommand } from './gradient.js';

const USAGE = `usage: ctwin <command> [flags]

commands:
  doctor      which WebGPU adapter/backend is used (or why the CPU fallback), limits, versions
  simulate    --model M.json --t1 T --out traj.csv [--params P.csv | --batch N] [--t0 0]
              [--saveat 0:10:600 | --saveat 1,2.5,7] [--method dopri5|tsit5|rk4|rosenbrock23|rodas4]
              [--rtol 1e-6] [--atol 1e-8] [--dt DT] [--max-steps 100000]
              [--backend auto|gpu|cpu] [--status-out status.csv] [--quiet]
  gradient    --model M.json --data D.csv [--params P.csv] [--sigma 1] [--noise normal|lognormal]
              [--t0 0] [--method …] [--rtol 1e-6] [--atol 1e-8] [--dt DT] [--max-steps N]
              [--backend auto|cpu|gpu]  (auto: the f64 CPU adjoint; gpu: f32, rk4/dopri5/tsit5)
              prints JSON {"loss": L, "grad": [{"traj", "params", "initial"}…]} for
              L = Σ ½((y_obs(t) − value)/σ)²; D.csv columns traj,t,observable,value
`;

/** Parses the flags of one command; a mistake is a UsageError that shows the usage. */
function flagsOf<T extends Record<string, { type: 'string' | 'boolean' }>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string };
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}\n${USAGE}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const log = (line: string) => process.stderr.write(line + '\n');
  switch (command) {
    case 'doctor':
      return doctorCommand((line) => process.stdout.write(line + '\n'));
    case 'simulate':
      await simulateCommand(flagsOf(rest, SIMULATE_FLAGS), log);
      return 0;
    case 'gradient':
      await gradientCommand(flagsOf(rest, GRADIENT_FLAGS), (text) => process.stdout.write(text), log);
      return 0;
    case undefined: case '-h': case '--help': case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const bad = err instanceof UsageError || err instanceof ModelError || err instanceof ProblemError ||
      err instanceof InputError || err instanceof GpuUnavailableError;
    process.stderr.write(`ctwin: ${bad ? (err as Error).message : (err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = bad ? 2 : 1;
  },
);
