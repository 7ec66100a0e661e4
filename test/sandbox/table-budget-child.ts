// Child process for table-budget.test.ts: admits a table-growing module under
// a policy, runs its `grow` export, and reports what grew and the process's
// peak RSS as one JSON line. A separate process, so the RSS is the attack's alone.

import { readFileSync } from 'node:fs';
import { parsePolicy } from '../../src/policy/load.js';
import { AdmissionError, prepare } from '../../src/sandbox/prepare.js';
import { peakRssBytes } from '../helpers/peak-rss.js';

const [modulePath, policyJson] = process.argv.slice(2);
const bytes = new Uint8Array(readFileSync(modulePath!));
try {
  const prepared = prepare(bytes, parsePolicy(JSON.parse(policyJson!)));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(prepared.bytes));
  const grown = (instance.exports.grow as () => number)();
  console.log(JSON.stringify({ admitted: true, grown, maxRssBytes: peakRssBytes() }));
} catch (error) {
  if (!(error instanceof AdmissionError)) throw error;
  console.log(JSON.stringify({ admitted: false, rules: error.violations.map((v) => v.rule), maxRssBytes: peakRssBytes() }));
}
