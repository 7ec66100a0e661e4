// Output helpers for commands: everything a command prints goes through here so
// tests can capture it and so errors are always a single line.

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Raw bytes to stdout (a plugin's output); without it, bytes go out as UTF-8 text. */
  stdoutBytes?: (bytes: Uint8Array) => void;
  /** The process environment, read only here at the edge (data dir, XDG). */
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  debug: boolean;
  /** stdout is a terminal (colour is considered only then). */
  isTTY?: boolean;
  /** Set by main: colour on a terminal, unless NO_COLOR or TERM=dumb. */
  colour?: boolean;
}

export type Command = (argv: string[], io: CommandIO) => Promise<number>;
