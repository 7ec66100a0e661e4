// Every printer of text someone else chose escapes the same characters: the
// C0 and C1 controls, DEL, the line separators and the bidi controls. Each
// printer had its own copy of the class, and two had drifted (a config
// file's values kept their bidi overrides; a trap's function names kept the
// Arabic letter mark).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { terminalSafe } from '../../src/cli/terminal-text.js';
import { ConfigError } from '../../src/server/config.js';
import { escapeLogLine } from '../../src/server/log.js';
import { guestStack } from '../../src/wasi/trap.js';

const ranges: Array<[number, number]> = [[0x00, 0x1f], [0x7f, 0x9f], [0x61c, 0x61c], [0x200e, 0x200f], [0x2028, 0x2029], [0x202a, 0x202e], [0x2066, 0x2069]];
const active = ranges.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i)));
const hex = (c: string) => `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

describe('text someone else chose, printed', () => {
  it('the CLI error line keeps none of them (but tab)', () => {
    for (const c of active) if (c !== '\t') assert.ok(!terminalSafe(`a${c}b`).includes(c), hex(c));
  });

  it('a JSON log line keeps none of them, and parses back to the same text', () => {
    for (const c of active) {
      const line = escapeLogLine(JSON.stringify({ text: `a${c}b` }));
      assert.ok(!line.includes(c), hex(c));
      assert.equal(JSON.parse(line).text, `a${c}b`);
    }
  });

  it('a config error quoting the file keeps none of them', () => {
    for (const c of active) assert.ok(!new ConfigError([`tenants[0].id: 'a${c}b' is not an id`], `warden${c}.toml`).message.includes(c), hex(c));
  });

  it('a trap\'s function names keep none of them', () => {
    for (const c of active) {
      if (c === '\n') continue; // a formatted stack is read line by line: a newline ends the frame (held in test/cli/trap-stack.test.ts)
      const error = new Error('unreachable');
      error.stack = `RuntimeError: unreachable\n    at a${c}b (wasm://wasm/1f:wasm-function[4]:0x10)`;
      const [frame] = guestStack(error);
      assert.ok(frame && !(frame.name ?? '').includes(c), hex(c));
    }
  });
});
