// Errors the CLI turns into exit codes. Anything else that escapes a command is
// an internal error, printed as one line (with a stack under --debug).

export const ExitCode = {
  OK: 0,
  /** A negative verdict: inspect found an error-level issue, verify found no trusted signature, check refused. */
  NEGATIVE: 1,
  /** Bad usage or an unreadable input. */
  USAGE: 2,
  /** `warden run`: refused or failed before the guest ran. */
  RUN_REFUSED: 125,
  /** `warden run`: the guest trapped or hit a limit that ends the run. */
  RUN_TRAPPED: 134,
} as const;

/** Bad usage: unknown flag, missing argument, malformed value. Exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An input that cannot be read or is not what it should be. Exit 2 (125 for run). */
export class InputError extends Error {
  override name = 'InputError';
  /**
   * `message` is one line, printed with anything in it that acts on a terminal escaped; `details`, lines of their
   * own printed beneath it, must be made safe by whoever builds them (violationLines does).
   */
  constructor(message: string, readonly details?: string) {
    super(message);
  }
}
