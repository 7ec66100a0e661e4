// The guest of the kept-view tests (closure-view-lifetime.test.ts and its
// child, kept-view-child.ts):
//  - keep_then_spin(n): calls env.keep(16), then counts n down (the guest runs
//    on with no call in progress), and returns what keep returned;
//  - with `wait`, wait_then_read(): calls env.wait(16), whose answer may come
//    after the closure awaited.
// Memory holds 42 at 16.

import { wat } from './wat.js';

export function keptViewGuest(options: { wait: boolean }): Promise<Uint8Array> {
  return wat(`(module
  (import "env" "keep" (func $keep (param i32) (result i32)))
  ${options.wait ? '(import "env" "wait" (func $wait (param i32) (result i32)))' : ''}
  (memory (export "memory") 1)
  (data (i32.const 16) "\\2a\\00\\00\\00")
  (func (export "keep_then_spin") (param $n i32) (result i32)
    (local $r i32)
    (local.set $r (call $keep (i32.const 16)))
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $again)))
    (local.get $r))
  ${options.wait ? '(func (export "wait_then_read") (result i32) (call $wait (i32.const 16)))' : ''})`);
}
