// Host descriptors for stdio that never block the thread using them.
//
// A thread sitting in read() or write() on a pipe or terminal cannot be
// stopped: not by the V8 watchdog, not by worker.terminate(), and Node's
// process.exit joins such a thread, so the whole process would hang. Every
// stdio descriptor wasm-warden reads or writes is therefore non-blocking:
//  - regular files and block devices never block: used as they are;
//  - pipes, FIFOs and terminals are opened afresh through /proc/self/fd/N with
//    O_NONBLOCK, a new open file description, so the flag does not leak to
//    the processes sharing the inherited one;
//  - sockets cannot be reopened: Node's own stdio objects make fds 0-2
//    non-blocking (as any Node program reading process.stdin does).
// A call that would block answers -1 ("would block"); the caller decides how
// long to wait, always bounded by the run's deadline.

import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';

export interface Endpoint {
  /** Bytes read; 0 at end of input; -1 when it would block. */
  read(target: Uint8Array, offset: number, length: number): number;
  /** Bytes written; -1 when it would block. */
  write(source: Uint8Array, offset: number, length: number): number;
  close(): void;
}

const WOULD_BLOCK = new Set(['EAGAIN', 'EWOULDBLOCK']);

/** Endpoints over descriptors this process inherited, opened once per thread and kept. */
const inherited = new Map<string, Endpoint>();

function over(fd: number, owned: boolean): Endpoint {
  return {
    read(target, offset, length) {
      try {
        return readSync(fd, target, offset, length, null);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (WOULD_BLOCK.has(code)) return -1;
        if (code === 'EOF') return 0;
        throw error;
      }
    },
    write(source, offset, length) {
      try {
        return writeSync(fd, source, offset, length);
      } catch (error) {
        if (WOULD_BLOCK.has((error as NodeJS.ErrnoException).code ?? '')) return -1;
        throw error;
      }
    },
    close() {
      if (owned) try { closeSync(fd); } catch { /* already gone */ }
    },
  };
}

/** Makes an inherited socket on fd 0-2 non-blocking through Node's own stdio objects (main thread only). */
function nodeStdio(fd: number): void {
  try {
    if (fd === 0) void process.stdin;
    else if (fd === 1) void process.stdout;
    else if (fd === 2) void process.stderr;
  } catch {
    // No usable stdio object: the descriptor stays as it is.
  }
}

/** A non-blocking endpoint over an inherited descriptor (stdin 0, stdout 1, stderr 2, or another). */
export function inheritedEndpoint(fd: number, direction: 'read' | 'write'): Endpoint {
  const key = `${fd}:${direction}`;
  const known = inherited.get(key);
  if (known) return known;
  // Opened on first use: a run that never reads stdin or writes stderr does not look at them
  // (a socket there would make Node build its stdio stream and load node:net, 2-3 ms a start).
  let opened: Endpoint | null = null;
  const endpoint = (): Endpoint => (opened ??= open(fd, direction));
  const made: Endpoint = {
    read: (target, offset, length) => endpoint().read(target, offset, length),
    write: (source, offset, length) => endpoint().write(source, offset, length),
    close: () => opened?.close(),
  };
  inherited.set(key, made);
  return made;
}

function open(fd: number, direction: 'read' | 'write'): Endpoint {
  const stat = fstatSync(fd);
  if (stat.isFile() || stat.isBlockDevice()) return over(fd, false);
  if (stat.isFIFO() || stat.isCharacterDevice()) {
    const access = direction === 'read' ? constants.O_RDONLY : constants.O_WRONLY;
    try {
      return over(openSync(`/proc/self/fd/${fd}`, access | constants.O_NONBLOCK | constants.O_NOCTTY), true);
    } catch {
      // /proc unavailable or the permission model refused: fall through.
    }
  }
  nodeStdio(fd);
  return over(fd, false);
}

/**
 * Linux major numbers of terminals: BSD pseudo-terminal slaves (3), virtual
 * consoles and serial lines (4), /dev/tty, /dev/console and /dev/ptmx (5),
 * pseudo-terminal slaves (136-143).
 */
function isTerminalMajor(major: number): boolean {
  return (major >= 3 && major <= 5) || (major >= 136 && major <= 143);
}

/**
 * Whether host descriptor `fd` is a terminal, by one fstat: a character device
 * with a terminal's major number (/dev/null and other devices are not). Not
 * node:tty, which loads node:net, tens of times the cost of a small run's stdio.
 */
export function isTerminal(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isCharacterDevice() && isTerminalMajor(Math.floor(stat.rdev / 256) % 4096);
  } catch {
    return false;
  }
}

/** Opens a host path for reading without ever blocking on it (a FIFO named as stdin). */
export function pathEndpoint(path: string): Endpoint {
  return over(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY), true);
}
