// SARIF 2.1.0 rendering, for code-scanning tools that ingest audit results.

import type { InspectReport } from './report.js';
import { allRules } from './rules.js';

const rulesDocUri = 'https://github.com/wasm-warden/wasm-warden/blob/main/docs/rules.md';

export function renderSarif(report: InspectReport, version = '0.1.0'): object {
  const uri = report.file ?? 'module.wasm';
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
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
              fullDescription: { text: r.summary },
              helpUri: `${rulesDocUri}#${r.id}`,
              defaultConfiguration: { level: r.severity },
            })),
          },
        },
        artifacts: [{ location: { uri }, length: report.size }],
        results: report.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: allRules.findIndex((r) => r.id === f.rule),
          level: f.severity,
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri, index: 0 },
                ...(f.offset !== undefined ? { region: { byteOffset: f.offset, byteLength: 1 } } : {}),
              },
            },
          ],
        })),
      },
    ],
  };
}
