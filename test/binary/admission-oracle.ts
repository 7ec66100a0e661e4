// The oracle of the admission fuzzers: "judge the module as shipped". For any
// bytes, the decoder fails only with a WasmDecodeError; `prepare` (decode,
// walk, admission, V8's validation, the rewrites) either admits or refuses
// with an AdmissionError, never another exception; it admits only what V8
// validates, and what it admits it rewrites into bytes V8 validates too. A
// module V8 accepts may be refused only for a named reason of the policy
// (a feature, a limit, an import), never as `malformed` or `invalid`, except
// in the classes differential.ts lists as deliberately stricter.

import { decodeModule } from '../../src/binary/decode.js';
import { WasmDecodeError } from '../../src/binary/errors.js';
import { EMPTY_POLICY } from '../../src/policy/load.js';
import { FEATURES, type Policy } from '../../src/policy/policy.js';
import { HARDEN_PASSES } from '../../src/transform/harden-passes.js';
import { AdmissionError, prepareWith } from '../../src/sandbox/prepare.js';
import { prepareConfig, type PrepareConfig } from '../../src/sandbox/prepare-config.js';
import { DELIBERATELY_STRICTER } from './stricter.js';

export interface Finding {
  /** A short class, the key findings are grouped by. */
  kind: 'decoder-threw' | 'prepare-threw' | 'admitted-invalid' | 'rewrite-invalid' | 'refused-valid';
  config: string;
  detail: string;
}

const permissive = (changes: Partial<Policy> = {}, limits: Partial<Policy['limits']> = {}): Policy => ({
  ...EMPTY_POLICY,
  features: new Set(FEATURES),
  unknownImports: 'trap',
  ...changes,
  limits: { ...EMPTY_POLICY.limits, memory: 16 * 1024 * 1024, tableElements: 1000, ...limits },
});

/** The policies each module is prepared under: every rewrite, alone and together, and the default features. */
export const ORACLE_CONFIGS: ReadonlyArray<{ name: string; config: PrepareConfig }> = [
  { name: 'fuel+deadline', config: prepareConfig(permissive({}, { fuel: 1_000_000, timeoutMs: 1000 }), [], null) },
  { name: 'limits only', config: prepareConfig(permissive(), [], null) },
  { name: 'hardened', config: prepareConfig(permissive({ harden: HARDEN_PASSES }, { fuel: 1000, timeoutMs: 1000 }), [], null) },
  { name: 'host memory', config: prepareConfig(permissive({}, { fuel: 1000 }), [], null, true) },
  { name: 'default features', config: prepareConfig({ ...EMPTY_POLICY, unknownImports: 'zero' }, [], null) },
];

/** Why V8 refuses `bytes` (its message), or null when it accepts them. */
export function v8Verdict(bytes: Uint8Array): string | null {
  const valid = WebAssembly.validate(bytes);
  try {
    new WebAssembly.Module(bytes);
    return valid ? null : 'validate refused what new Module accepted';
  } catch (error) {
    return valid ? `validate accepted what new Module refused: ${(error as Error).message}` : (error as Error).message;
  }
}

const stricterOnPurpose = (message: string) => DELIBERATELY_STRICTER.some((c) => c.reason.test(message.replace(/ at byte offset \d+$/, '')));

/** Every way `bytes` break the oracle, one finding per config at most. */
export function admissionFindings(bytes: Uint8Array, configs = ORACLE_CONFIGS): Finding[] {
  const findings: Finding[] = [];
  try {
    decodeModule(bytes);
  } catch (error) {
    if (!(error instanceof WasmDecodeError)) findings.push({ kind: 'decoder-threw', config: 'decode', detail: String((error as Error)?.stack ?? error) });
  }
  const v8 = v8Verdict(bytes);
  for (const { name, config } of configs) {
    let prepared;
    try {
      prepared = prepareWith(bytes, config);
    } catch (error) {
      if (!(error instanceof AdmissionError)) {
        findings.push({ kind: 'prepare-threw', config: name, detail: String((error as Error)?.stack ?? error) });
        continue;
      }
      if (v8 !== null) continue;
      const unnamed = error.violations.filter((v) => (v.rule === 'malformed' || v.rule === 'invalid') && !stricterOnPurpose(v.message));
      if (unnamed.length > 0) findings.push({ kind: 'refused-valid', config: name, detail: unnamed.map((v) => `${v.rule}: ${v.message}`).join('; ') });
      continue;
    }
    if (v8 !== null) {
      findings.push({ kind: 'admitted-invalid', config: name, detail: v8 });
      continue;
    }
    const rewritten = v8Verdict(prepared.bytes);
    if (rewritten !== null) findings.push({ kind: 'rewrite-invalid', config: name, detail: rewritten });
  }
  return findings;
}
