// A key given twice in one JSON object. JSON.parse keeps the last without a word, where
// a TOML policy refuses the same key twice ("trying to redefine"): read from a JSON file,
// `{"env": {"A": "1", "A": "2"}}` granted A=2, and whoever reviewed the file may have read
// A=1. The policy loader refuses it so that the two formats (and the CLI's own flags) agree.

/** The first key repeated in an object of `text` (valid JSON), with the offset of its second spelling; null when none. */
export function repeatedJsonKey(text: string): { key: string; offset: number } | null {
  // One Set per open object (null for an array); `expectKey` while the next string is a key.
  const open: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      if (!expectKey) continue;
      expectKey = false;
      // Decoded, so that an escape spelling the same key (`"fu\u0065l"`) is the same key.
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      const keys = open[open.length - 1]!;
      if (keys.has(key)) return { key, offset: start };
      keys.add(key);
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = open[open.length - 1] != null;
    }
  }
  return null;
}
