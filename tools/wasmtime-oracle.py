#!/usr/bin/env python3
"""Runs a WASI module under Wasmtime (the `wasmtime` Python package) for
differential testing during development. Not used by tests or CI.

usage: wasmtime-oracle.py MODULE.wasm [--dir HOST::GUEST]... [--env K=V]... [-- ARGS...]
"""
import sys
import wasmtime

def main(argv):
    module_path = None
    dirs, envs, args = [], [], []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--dir':
            dirs.append(argv[i + 1]); i += 2; continue
        if a == '--env':
            envs.append(argv[i + 1]); i += 2; continue
        if a == '--':
            args = argv[i + 1:]; break
        module_path = a; i += 1
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = [module_path] + args
    config.env = [tuple(e.split('=', 1)) for e in envs]
    config.inherit_stdout()
    config.inherit_stderr()
    for d in dirs:
        host, guest = d.split('::', 1) if '::' in d else (d, d)
        config.preopen_dir(host, guest)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    module = wasmtime.Module.from_file(engine, module_path)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)['_start'](store)
        return 0
    except wasmtime.ExitTrap as e:
        return e.code

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
