// Reads a module file named on the command line (`-`: stdin), turning each way
// it can be wrong into its own one-line message.

import { notUtf8Hint } from '../text/not-utf8.js';
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { readBoundedBytes, readOpenedFile, TooLargeError } from '../policy/read-text.js';
import { resolveFrom } from './paths.js';
import { InputError } from './errors.js';

/** The module argument that means "read the module from stdin". */
export const STDIN_PATH = '-';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
/** Version 0x0d, layer 1: the preamble of a component-model binary. */
const COMPONENT_VERSION = [0x0d, 0x00, 0x01, 0x00];
const WAT_START = /^(?:\(\s*(?:module|component|func|memory|type|import|export|global|table|data|elem)\b|;;|\(;)/;

function looksLikeText(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, Math.min(bytes.length, 512));
  let printable = 0;
  for (const b of head) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc0) printable++;
  return printable / head.length > 0.95;
}

/**
 * Reads PATH (relative to cwd; `-` is stdin) as a binary module, or throws
 * InputError naming what is wrong. `room`: bytes of buffer to leave after the
 * module (never touched here, so they cost no memory until written), for a run
 * that builds the rewritten module over the bytes read (SandboxOptions.overwriteModuleBytes);
 * stdin's bytes get none, and such a run builds in a copy.
 */
export function readModuleFile(path: string, cwd: string, maxBytes = 1024 * 1024 * 1024, room = 0): Uint8Array {
  if (path === STDIN_PATH) return checkModuleBytes(readStdin(maxBytes), 'stdin');
  const full = resolveFrom(cwd, path);
  // Opened first, then judged by what the descriptor holds: a check of the path followed by a read of
  // the path let whoever can write the directory swap in a FIFO between the two (the read then blocked
  // for ever) or a file larger than the bound. O_NONBLOCK: opening a FIFO does not wait for a writer.
  let fd: number;
  try {
    fd = openSync(full, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${path}: no such file${notUtf8Hint(path)}`);
    if (code === 'EACCES') throw new InputError(`${path}: permission denied`);
    throw new InputError(`${path}: cannot read (${code ?? 'error'})`);
  }
  let bytes: Uint8Array;
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new InputError(`${path} is a directory, not a module`);
    if (!stat.isFile()) throw new InputError(`${path} is not a regular file`);
    if (stat.size === 0) throw new InputError(`${path} is empty`);
    if (stat.size > maxBytes) throw new InputError(`${path} is ${stat.size} bytes, over the limit of ${maxBytes}`);
    // Read to the size fstat gave, never past it: a file that grows meanwhile cannot outrun the bound.
    bytes = readOpenedFile(fd, stat.size, room);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    closeSync(fd);
  }
  return checkModuleBytes(bytes, path);
}

/**
 * Stdin's bytes, bounded like a file's size: a pipe that never ends (`yes |`,
 * `< /dev/zero`) is refused at the bound instead of filling the host's memory.
 */
function readStdin(maxBytes: number): Uint8Array {
  try {
    return readBoundedBytes(0, maxBytes, 'the largest module read');
  } catch (error) {
    if (error instanceof TooLargeError) throw new InputError(`stdin: ${error.message}`);
    throw new InputError(`stdin: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The bytes if they are a core module's binary; else InputError saying what they are instead. */
function checkModuleBytes(bytes: Uint8Array, path: string): Uint8Array {
  if (bytes.length === 0) throw new InputError(`${path} is empty`);
  if (!WASM_MAGIC.every((b, i) => bytes[i] === b)) {
    const text = new TextDecoder().decode(bytes.subarray(0, 256)).trimStart();
    if (WAT_START.test(text)) {
      throw new InputError(`${path} is WebAssembly text, not a binary module; assemble it first (e.g. wat2wasm)`);
    }
    if (looksLikeText(bytes)) throw new InputError(`${path} is a text file, not a WebAssembly module`);
    throw new InputError(`${path} is not a WebAssembly module (no \\0asm magic number)`);
  }
  if (bytes.length >= 8 && COMPONENT_VERSION.every((b, i) => bytes[4 + i] === b)) {
    throw new InputError(`${path} is a component-model binary, not a core module; wasm-warden runs core modules (WASI preview1)`);
  }
  if (bytes.length < 8) throw new InputError(`${path} is truncated: ${bytes.length} bytes, shorter than the 8-byte header`);
  return bytes;
}
