// How to fix each admission refusal: the policy key (and `warden run` flag)
// that grants what was refused, or what to change in the module when no policy
// can allow it. Kept beside the rules so a new rule gets its fix here too; the
// CLI prints it after each violation, and the library exports it.

import { wasiFunction } from '../binary/wasi-abi.js';
import type { Violation } from './admission.js';

const GRANTS: Readonly<Record<string, string>> = {
  clocks: 'clock = "coarse:1ms" (warden run --clock coarse:1ms)',
  random: 'random = "os" (warden run --random os)',
  filesystem: 'a [[mount]] (warden run --dir, --dir-ro or --tmpfs), or imports.allow to link it without a directory',
  sockets: 'imports.allow (sockets are never granted: every call fails with ENOTSOCK)',
};

/** The fix for one violation, as text, or null when there is nothing to suggest. */
export function fixFor(violation: Pick<Violation, 'rule' | 'message'>): string | null {
  const { rule, message } = violation;
  switch (rule) {
    case 'import-not-granted': {
      if (message.includes('extism:host/env.http') && message.includes('thread isolation')) return 'run it with isolation = "thread" (the request is made on the embedder\'s thread while the plugin\'s worker waits)';
      if (message.includes('extism:host/env.http')) return 'grant the origins it may reach in the policy: [plugin] http_hosts = ["https://api.example.com"] (thread isolation; docs/plugins.md)';
      const name = /^imports (\w+)/.exec(message)?.[1];
      const capability = name ? wasiFunction(name)?.capability : undefined;
      const grant = capability ? GRANTS[capability] : undefined;
      const allow = name ? `imports.allow = ["${name}"]` : 'imports.allow';
      return grant ? `grant it with ${grant.replace('imports.allow', allow)}` : `allow it with ${allow}`;
    }
    case 'feature-not-allowed': {
      const feature = /^uses ([\w-]+)/.exec(message)?.[1];
      return feature ? `allow it with features.${feature} = true` : 'allow it under [features]';
    }
    case 'unsigned': return 'sign it (warden sign --key KEY IN.wasm -o OUT.wasm), or set trust.require = "none"';
    case 'signature-untrusted': return "add the signer's public key to trust.keys, or lower trust.require";
    case 'digest-not-pinned': return 'add its digest to trust.pins';
    case 'module-too-large': {
      // Over limits.module-size as shipped, or within it and grown past V8's limit by the rewrites (prepare.ts).
      const grown = /; grown by (.+)$/.exec(message)?.[1];
      if (!grown) return 'raise limits.module-size';
      const ways = [
        ...(grown.includes('fuel metering') ? ['without fuel (warden run --fuel, limits.fuel)'] : []),
        ...(grown.includes('deadline checkpoints') ? ['without a deadline (warden run --timeout, limits.timeout)'] : []),
        ...(grown.includes('hardening guards') ? ["with fewer hardening passes (the policy's harden list)"] : []),
      ];
      return `it is within limits.module-size as shipped; ${grown} took it past V8's limit, which no limit raises: ${ways.length ? `run it ${ways.join(' or ')}, or ` : ''}rebuild it with smaller functions`;
    }
    case 'memory-too-large': return 'raise limits.memory (warden run --memory-limit)';
    case 'table-too-large': return 'raise limits.table-elements (warden run --max-table-elements)';
    case 'too-many-tables': return 'raise limits.tables (warden run --max-tables)';
    case 'too-many-memories': return 'raise limits.memories (warden run --max-memories); more than one also needs features.multi-memory = true';
    case 'too-many-functions': return 'raise limits.functions';
    case 'data-too-large': return 'raise limits.data';
    case 'import-unknown-module': return 'grant it as a host function with that module, name and signature (createSandbox hostFunctions), or link a stub with imports.unknown = "trap" or "zero" (warden run --unknown-imports trap|zero); wasm-warden itself provides wasi_snapshot_preview1 only, so otherwise build for wasm32-wasip1 without host-specific imports';
    case 'import-unknown-function': return 'link a stub with imports.unknown = "trap" or "zero" (warden run --unknown-imports trap|zero), or rebuild against WASI preview1 (wasm32-wasip1)';
    case 'import-signature-mismatch': return / is granted as /.test(message)
      ? 'grant the host function with the signature the module imports, or rebuild the module against the granted one'
      : 'no policy grants it: the module was built against another ABI; rebuild for wasm32-wasip1';
    case 'export-missing': return 'call one of the functions it exports (warden run --invoke NAME), or rebuild it exporting that name';
    case 'export-signature-unsupported': return 'call a function whose parameters and results are numbers (i32, i64, f32, f64), or add such a wrapper export to the module';
    case 'import-non-function': return 'no policy grants it: have the module define and export its memory or table instead of importing it';
    case 'shared-memory':
    case 'atomics': return 'no policy grants it: build without threads (no -pthread, no +atomics target feature)';
    case 'not-a-command': return 'no policy grants it: build a command that exports _start (for C and Rust, a main function); a library (reactor) module cannot be run';
    case 'export-reserved': return 'rename the export: names starting with the reserved prefix are the host\'s';
    case 'import-reserved': return 'no policy grants it: warden:host is the host\'s own module; remove the import';
    case 'not-hardenable': return 'drop the pass from the policy\'s harden list, or rebuild the module without what the pass cannot cover (e.g. SIMD memory accesses: no -msimd128)';
    case 'not-meterable': return 'rebuild it for a 32-bit memory (wasm32), or run it without fuel and deadline (no --fuel, no --timeout)';
    case 'invalid': return 'no policy grants it: the module is not valid WebAssembly; rebuild it with a toolchain that validates its output';
    default: return null;
  }
}

/** `rule: message; fix: …`, one line per violation. */
export function formatViolation(violation: Pick<Violation, 'rule' | 'message'>): string {
  const fix = fixFor(violation);
  return `${violation.rule}: ${violation.message}${fix ? `; fix: ${fix}` : ''}`;
}
