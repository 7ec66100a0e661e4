// Child process for admission-memory.test.ts: prepares one module file and
// reports the process's RSS before and its peak during, as one JSON line.

import { readFileSync } from 'node:fs';
import { EMPTY_POLICY } from '../../src/policy/load.js';
import { prepare } from '../../src/sandbox/prepare.js';
import { peakRssBytes } from '../helpers/peak-rss.js';

const bytes = readFileSync(process.argv[2]!);
const before = process.memoryUsage().rss;
const prepared = prepare(bytes, EMPTY_POLICY);
console.log(JSON.stringify({ moduleBytes: bytes.length, outputBytes: prepared.bytes.length, rssBefore: before, peakRss: peakRssBytes() }));
