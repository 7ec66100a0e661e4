import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LIMIT_KEYS } from '../../src/policy/limit-keys.js';
import { parsePolicy, PolicyError, TOP_KEYS } from '../../src/policy/load.js';
import { DEFAULT_LIMITS, FEATURES } from '../../src/policy/policy.js';
import { CLOCK_PATTERN, policySchema, policySchemaText } from '../../src/policy/schema.js';
import { durationUnits, sizeUnits, toBytes, toMilliseconds } from '../../src/policy/units.js';
import { repoRoot } from '../helpers/paths.js';

const committed = join(repoRoot, 'docs', 'policy.schema.json');

type Props = Record<string, { pattern?: string; oneOf?: Array<{ pattern?: string }> }>;
const schema = policySchema() as { properties: Props & { limits: { properties: Props }; features: { properties: Props } } };
const accepts = (input: unknown) => {
  try {
    parsePolicy(input);
    return true;
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return false;
  }
};

/** Strings made of digits, a dot, spaces and unit letters: near misses of valid values. */
const unitText = (units: Readonly<Record<string, number>>) => fc.tuple(
  // Two digits keep every value in range (99 TiB, 99 h), so only the syntax decides.
  fc.stringMatching(/^\d{1,2}(\.\d{1,3})?$/),
  fc.constantFrom(' ', '', '  '),
  fc.oneof(fc.constantFrom(...Object.keys(units), 'KiB', 'MIB', 'gB', 'T', 'tb', 'ib', 'sec', 'xs'), fc.stringMatching(/^[a-zA-Z]{0,3}$/)),
).map(([n, space, unit]) => `${n}${space}${unit}`);

describe('the published JSON Schema', () => {
  it('is the committed docs/policy.schema.json (UPDATE_SCHEMA=1 rewrites it)', () => {
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(committed, policySchemaText());
    assert.equal(readFileSync(committed, 'utf8'), policySchemaText(), 'docs/policy.schema.json is stale: run the policy tests with UPDATE_SCHEMA=1');
  });

  it('names exactly the keys the loader accepts, with its defaults', () => {
    assert.deepEqual(Object.keys(schema.properties).sort(), [...TOP_KEYS].sort());
    assert.deepEqual(Object.keys(schema.properties.features.properties).sort(), [...FEATURES].sort());
    assert.deepEqual(Object.keys(schema.properties.limits.properties), LIMIT_KEYS.map((k) => k.key));
    assert.equal(LIMIT_KEYS.length, Object.keys(DEFAULT_LIMITS).length, 'every limit has a key');
    for (const { key, field } of LIMIT_KEYS) {
      const fallback = (schema.properties.limits.properties[key] as { default: number }).default;
      assert.equal(fallback, DEFAULT_LIMITS[field] ?? 0, key);
      assert.ok(accepts({ limits: { [key]: fallback } }), `the loader accepts the schema's default for ${key}`);
    }
  });

  it('size and duration patterns agree with the loader on near-miss strings', () => {
    const sizePattern = new RegExp(schema.properties.limits.properties.memory!.oneOf![1]!.pattern!);
    const durationPattern = new RegExp(schema.properties.limits.properties.timeout!.oneOf![1]!.pattern!);
    fc.assert(fc.property(unitText(sizeUnits), (text) => {
      assert.equal(sizePattern.test(text), toBytes(text) !== null, JSON.stringify(text));
    }), { seed: 11, numRuns: 3000 });
    fc.assert(fc.property(unitText(durationUnits), (text) => {
      assert.equal(durationPattern.test(text), toMilliseconds(text) !== null, JSON.stringify(text));
    }), { seed: 12, numRuns: 3000 });
  });

  it('the clock pattern agrees with the loader', () => {
    const clock = new RegExp(CLOCK_PATTERN);
    const text = fc.tuple(
      fc.constantFrom('none', 'real', 'frozen', 'coarse', 'virtual', 'sundial', 'Real', ''),
      fc.constantFrom('', ':', ':1', ':10ms', ':5us', ':3ns', ':2s', ':1.5ms', ':1m', ':ms', ':1ms:2'),
    ).map(([kind, arg]) => kind + arg);
    fc.assert(fc.property(text, (t) => {
      // coarse:0 / virtual:0 match the pattern but are refused (a resolution must be positive).
      if (/:0+(ns|us|ms|s)?$/.test(t)) return;
      assert.equal(clock.test(t), accepts({ clock: t }), JSON.stringify(t));
    }), { seed: 13, numRuns: 1000 });
  });
});
