// Small guests, as WAT, that more than one test runs.

/** The preview1 fd_write import, bound to $write. */
export const FD_WRITE = '(import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))';

/**
 * Prints the 8 bytes at 1024 (zero in a fresh instance), then leaves a secret
 * there: a run that prints anything but zeros saw an earlier run's memory.
 */
export const REMEMBER = `(module ${FD_WRITE}
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 8))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (i64.store (i32.const 1024) (i64.const 0x2121544552434553))))`;
