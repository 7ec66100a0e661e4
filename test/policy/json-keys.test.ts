import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { repeatedJsonKey } from '../../src/policy/json-keys.js';

describe('repeatedJsonKey', () => {
  it('finds a key repeated in one object, and only there', () => {
    const none = ['{}', '[]', '"x"', '{"a":1,"b":{"a":2}}', '[{"a":1},{"a":2}]', '{"a":"{\\"a\\":1}","b":["a","a"]}', '{"a\\"b":1,"a":2,"b":3}', '{"a":[{"x":1,"y":[1,{"x":2}]}],"x":0}'];
    for (const text of none) assert.equal(repeatedJsonKey(text), null, text);
    const some: Array<[string, string, number]> = [
      ['{"a":1,"a":2}', 'a', 7],
      ['{"a":[{"a":1}],"b":{},"a":2}', 'a', 22],
      ['[1,{"k":{"z":0},"k":1}]', 'k', 16],
      ['{"\\u0041":1, "A":2}', 'A', 13],
      ['{ "x" : { "a\\\\" : 1 , "a\\\\" : 2 } }', 'a\\', 22],
    ];
    for (const [text, key, offset] of some) assert.deepEqual(repeatedJsonKey(text), { key, offset }, text);
  });

  // Property: over any JSON tree written as text (keys and strings with quotes, backslashes, braces and
  // escapes, any whitespace), the scan reports a repeat exactly when some object's entries repeat a key,
  // and then the first such key in text order. The oracle is the tree itself, not the scan's reading of it.
  it('agrees with the tree it was written from, on generated JSON', () => {
    type Node = { kind: 'value'; text: string } | { kind: 'array'; items: Node[] } | { kind: 'object'; entries: Array<[string, Node]> };
    // Keys as spelt in the JSON text: escapes that decode to the same key as a plain spelling ("\u0041" is "A").
    const keyArb = fc.constantFrom('a', 'b', 'A', 'a\\\\', '{', '\\"', '\\u0041', 'x y', '\\\\\\"');
    const space = fc.constantFrom('', ' ', '\n', ' \t ');
    const { node } = fc.letrec<{ node: Node }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.oneof(fc.constantFrom('1', 'true', 'null', '"{\\"a\\": [1]}"', '"a"', '"]"'), fc.string().map((t) => JSON.stringify(t))).map((text) => ({ kind: 'value' as const, text })),
        fc.array(tie('node'), { maxLength: 4 }).map((items) => ({ kind: 'array' as const, items })),
        fc.array(fc.tuple(keyArb, tie('node')), { maxLength: 4 }).map((entries) => ({ kind: 'object' as const, entries })),
      ),
    }));
    const write = (n: Node, gap: string): string =>
      n.kind === 'value' ? n.text
        : n.kind === 'array' ? `[${gap}${n.items.map((i) => write(i, gap)).join(`${gap},${gap}`)}${gap}]`
          : `{${gap}${n.entries.map(([k, v]) => `"${k}"${gap}:${gap}${write(v, gap)}`).join(`${gap},${gap}`)}${gap}}`;
    // The first repeated key in text order: entries and nested values are visited as they are written.
    const firstRepeat = (n: Node): string | null => {
      if (n.kind === 'array') { for (const i of n.items) { const r = firstRepeat(i); if (r !== null) return r; } return null; }
      if (n.kind === 'value') return null;
      const seen = new Set<string>();
      for (const [k, v] of n.entries) {
        const key = JSON.parse(`"${k}"`) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        const r = firstRepeat(v);
        if (r !== null) return r;
      }
      return null;
    };
    fc.assert(fc.property(node, space, (tree, gap) => {
      const text = write(tree, gap);
      JSON.parse(text); // the generator writes valid JSON only
      assert.equal(repeatedJsonKey(text)?.key ?? null, firstRepeat(tree), text);
    }), { numRuns: 2000 });
  });
});
