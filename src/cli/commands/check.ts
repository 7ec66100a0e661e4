// warden check --policy FILE MODULE.wasm [--json]

import { PolicyError } from '../../policy/load.js';
import { loadPolicy } from '../../policy/read-file.js';
import { AdmissionError, prepare } from '../../sandbox/prepare.js';
import { flag, parseArgs } from '../args.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { resolveFrom } from '../paths.js';
import { readModuleFile } from '../read-module.js';

export const usage = `usage: warden check --policy FILE MODULE.wasm [--json]

Admission without running: would the policy admit this module?
Exit 0 when it would, 1 when it would not (each violated rule listed), 2 for bad usage or input.`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { policy: { value: true }, json: {}, help: {} });
  if (args.switches.has('help')) {
    io.stdout(usage + '\n');
    return ExitCode.OK;
  }
  const policyPath = flag(args, 'policy');
  if (!policyPath) throw new UsageError('needs --policy FILE');
  if (args.positionals.length !== 1) throw new UsageError('needs exactly one module');
  const modulePath = args.positionals[0]!;
  let policy;
  try {
    policy = loadPolicy(resolveFrom(io.cwd, policyPath));
  } catch (error) {
    if (error instanceof PolicyError) throw new InputError(error.message);
    throw error;
  }
  const bytes = readModuleFile(modulePath, io.cwd);
  let violations: AdmissionError['violations'] = [];
  try {
    prepare(bytes, policy);
  } catch (error) {
    if (!(error instanceof AdmissionError)) throw error;
    violations = error.violations;
  }
  if (args.switches.has('json')) {
    io.stdout(JSON.stringify({ module: modulePath, admitted: violations.length === 0, violations }, null, 2) + '\n');
  } else if (violations.length === 0) {
    io.stdout(`${modulePath}: admitted\n`);
  } else {
    io.stdout(`${modulePath}: refused\n${violations.map((v) => `  ${v.rule}: ${v.message}`).join('\n')}\n`);
  }
  return violations.length === 0 ? ExitCode.OK : ExitCode.NEGATIVE;
}
