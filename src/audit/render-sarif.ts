// SARIF 2.1.0 rendering, for code-scanning tools that ingest audit results.
// Every rule of the audit is published in tool.driver.rules (so ruleIndex is
// stable), with helpUri pointing at its heading in docs/rules.md.

import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding, InspectReport } from './report.js';
import { allRules } from './rules.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const rulesDocUri = 'https://github.com/wasm-warden/wasm-warden/blob/main/docs/rules.md';

/** A URI reference for the inspected file: file:// for absolute paths, percent-encoded relative ones. */
export function artifactUri(file: string): string {
  if (isAbsolute(file)) return pathToFileURL(file).href;
  return file.split('/').map(encodeURIComponent).join('/');
}

function location(f: Finding, uri: string): object {
  return {
    physicalLocation: {
      artifactLocation: { uri, index: 0 },
      ...(f.offset !== undefined ? { region: { byteOffset: f.offset } } : {}),
    },
    ...(f.function !== undefined ? { logicalLocations: [{ kind: 'function', name: `func[${f.function}]` }] } : {}),
  };
}

export function renderSarif(report: InspectReport, version = '0.1.0'): object {
  const uri = artifactUri(report.file ?? 'module.wasm');
  const ruleIndex = new Map(allRules.map((r, i) => [r.id, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'wasm-warden',
            version,
            informationUri: rulesDocUri,
            rules: allRules.map((r) => ({
              id: r.id,
              shortDescription: { text: r.summary },
              fullDescription: { text: `${r.summary} ${r.description}` },
              helpUri: `${rulesDocUri}#${r.id}`,
              defaultConfiguration: { level: r.severity },
            })),
          },
        },
        artifacts: [{ location: { uri }, length: report.size }],
        results: report.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: ruleIndex.get(f.rule) ?? -1,
          level: f.severity,
          message: { text: f.message },
          locations: [location(f, uri)],
        })),
      },
    ],
  };
}
