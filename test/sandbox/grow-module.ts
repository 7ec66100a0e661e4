// A module whose exit code says how far memory.grow got: it grows memory a page
// at a time until memory.grow fails, then exits with the memory's size in
// pages. Under a policy's memory limit, that is the limit in pages.

export const growSource = (extraExport = ''): string => `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory 1)
  (func $start (export "_start")
    (block $done (loop $more
      (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (br $more)))
    (call $exit (memory.size)))
  ${extraExport ? `(export "${extraExport}" (func $start))` : ''})`;
