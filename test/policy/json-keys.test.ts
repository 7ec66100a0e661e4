import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
});
