// warden inspect MODULE.wasm [--json | --sarif]

import { decodeModule } from '../../binary/decode.js';
import { WasmDecodeError } from '../../binary/errors.js';
import { commandLinePolicy } from '../../policy/overrides.js';
import { advice } from '../../audit/toolchain.js';
import { admit, type Violation } from '../../sandbox/admission.js';
import { fixFor } from '../../sandbox/admission-fixes.js';
import { sha256 } from '../../store/local.js';
import { hasErrors, inspect } from '../../audit/inspect.js';
import { rules } from '../../audit/rules.js';
import { renderSarif } from '../../audit/render-sarif.js';
import { renderText } from '../../audit/render-text.js';
import { signatureStatus } from '../../signing/verify.js';
import { flag, flagList, parseArgs } from '../args.js';
import { readPublicKey } from '../read-key.js';
import { ExitCode, InputError, UsageError } from '../errors.js';
import type { CommandIO } from '../io.js';
import { DATA_DIR_HELP, readModuleArg } from '../module-arg.js';
import { terminalSafeJson } from '../terminal-text.js';

export const usage = `usage: warden inspect MODULE.wasm [--json | --sarif] [--key KEY.pub …] [--debug]

Static security audit of a module: capability surface, memory-safety posture,
side-channel indicators and findings (docs/rules.md), signature status (which key
ids signed it, which of the --key public keys verify), what 'warden run' would
refuse under the default policy, and advice for the toolchain that built it.

  --json               the report as JSON
  --sarif              the findings as SARIF 2.1.0
  --key KEY.pub        a public key to check the signatures against (repeatable)
${DATA_DIR_HELP}

Exit 0 without error-level findings, 1 with one, 2 for bad usage or input.`;

/** A decode error that ran into the end of the file: the file was cut short. */
function isTruncation(error: WasmDecodeError, fileBytes: number): boolean {
  return /past the end of the module/.test(error.reason) || (/^unexpected end/.test(error.reason) && error.offset >= fileBytes - 10);
}

export async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { json: {}, sarif: {}, key: { value: true, repeat: true }, 'data-dir': { value: true }, help: {} });
  if (args.switches.has('help')) {
    io.stdout(usage + '\n');
    return ExitCode.OK;
  }
  if (args.positionals.length !== 1) throw new UsageError(args.positionals.length ? 'takes exactly one module' : 'needs a module path (warden inspect MODULE.wasm)');
  if (args.switches.has('json') && args.switches.has('sarif')) throw new UsageError('--json and --sarif are exclusive');
  const path = args.positionals[0]!;
  const bytes = readModuleArg(path, io, flag(args, 'data-dir'));
  let report;
  let module;
  try {
    module = decodeModule(bytes, { validateBodies: false });
    report = inspect(module, { file: path });
  } catch (error) {
    if (error instanceof WasmDecodeError) {
      if (isTruncation(error, bytes.length)) throw new InputError(`${path} is truncated (${bytes.length} bytes): ${error.message}`);
      throw new InputError(`${path} is not a valid module: ${error.message}`);
    }
    throw error;
  }
  const keys = flagList(args, 'key').map((k) => readPublicKey(k, io.cwd));
  const status = signatureStatus(bytes, keys);
  if (status.signed || keys.length > 0) report.signatures = status;
  // What `warden run` would refuse with no flags: the same admission, on the same decoded module.
  const verdict = admit(module, commandLinePolicy(), () => sha256(bytes));
  // As prepare does: a module admission passes is refused still when V8 refuses it as shipped.
  const invalid = report.findings.find((f) => f.rule === rules.moduleInvalid.id);
  if (verdict.admitted && invalid) verdict.violations.push({ rule: 'invalid', message: `not a valid module: ${invalid.message.replace(/^V8 refuses it: /, '')}` });
  const retarget = new Set(['import-unknown-module', 'import-unknown-function', 'import-signature-mismatch']);
  const fix = (v: Violation) => (retarget.has(v.rule) ? `no policy grants it: ${advice('wasi-target', report.toolchain.detected)}` : fixFor(v));
  report.run = { policy: 'warden run defaults', admitted: verdict.violations.length === 0, refusals: verdict.violations.map((v) => ({ rule: v.rule, message: v.message, fix: fix(v) })) };
  // The module's own names are in both: written so that no character of theirs acts on a terminal.
  if (args.switches.has('sarif')) io.stdout(terminalSafeJson(renderSarif(report)) + '\n');
  else if (args.switches.has('json')) io.stdout(terminalSafeJson(report) + '\n');
  else io.stdout(renderText(report));
  return hasErrors(report) ? ExitCode.NEGATIVE : ExitCode.OK;
}
