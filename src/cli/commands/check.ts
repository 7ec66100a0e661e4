// warden check --policy FILE MODULE.wasm [--json]

import { PolicyError } from '../../policy/load.js';
import { checkMountSources } from '../../policy/mount-sources.js';
import { applyOverrides } from '../../policy/overrides.js';
import type { LimitsPolicy, Policy } from '../../policy/policy.js';
import { loadPolicy } from '../../policy/read-file.js';
import { fixFor } from '../../sandbox/admission-fixes.js';
import { AdmissionError, prepare } from '../../sandbox/prepare.js';
import { flag, parseArgs, parseCount } from '../args.js';
import { green, red } from '../colour.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { tableAndMemoryFlags } from '../limit-flags.js';
import { DATA_DIR_HELP, readModuleArg } from '../module-arg.js';
import { resolveFrom } from '../paths.js';
import { printJson, terminalSafe, violationLines } from '../terminal-text.js';

export const usage = `usage: warden check --policy FILE MODULE.wasm [--json]

Admission without running: would the policy admit this module? Each violated rule is
listed on its own line with the policy key (or the change to the module) that fixes it.
The policy's host mounts must exist.

  --policy FILE        the policy (TOML, or JSON by extension; warden init writes one)
  --json               the verdict as JSON
  --max-table-elements N  elements of all tables together (overrides the policy)
  --max-tables N       tables a module may declare (overrides the policy)
  --max-memories N     memories a module may declare (overrides the policy)
${DATA_DIR_HELP}

Exit 0 when it would, 1 when it would not, 2 for bad usage or input (a broken policy, a
missing mount, an unreadable module).`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, {
    policy: { value: true }, json: {}, 'data-dir': { value: true }, help: {},
    'max-table-elements': { value: true }, 'max-tables': { value: true }, 'max-memories': { value: true },
  });
  if (args.switches.has('help')) {
    io.stdout(usage + '\n');
    return ExitCode.OK;
  }
  const policyPath = flag(args, 'policy');
  if (!policyPath) throw new UsageError('needs --policy FILE (warden init writes a starter policy)');
  if (args.positionals.length !== 1) throw new UsageError('needs exactly one module');
  const modulePath = args.positionals[0]!;
  let policy: Policy;
  try {
    policy = loadPolicy(resolveFrom(io.cwd, policyPath));
    checkMountSources(policy, policyPath);
  } catch (error) {
    if (error instanceof PolicyError) throw new InputError(error.message);
    throw error;
  }
  const limits: Partial<LimitsPolicy> = {};
  for (const [name, key] of tableAndMemoryFlags) { const v = flag(args, name); if (v !== undefined) limits[key] = parseCount(v, `--${name}`); }
  if (Object.keys(limits).length > 0) policy = applyOverrides(policy, { limits });
  const bytes = readModuleArg(modulePath, io, flag(args, 'data-dir'));
  let violations: AdmissionError['violations'] = [];
  try {
    prepare(bytes, policy);
  } catch (error) {
    if (!(error instanceof AdmissionError)) throw error;
    violations = error.violations;
  }
  if (args.switches.has('json')) {
    const listed = violations.map((v) => ({ ...v, fix: fixFor(v) }));
    printJson(io, { module: modulePath, admitted: violations.length === 0, violations: listed });
  } else if (violations.length === 0) {
    io.stdout(`${terminalSafe(modulePath)}: ${green(io)('admitted')}\n`);
  } else {
    io.stdout(`${terminalSafe(modulePath)}: ${red(io)('refused')}\n${violationLines(violations)}\n`);
  }
  return violations.length === 0 ? ExitCode.OK : ExitCode.NEGATIVE;
}
