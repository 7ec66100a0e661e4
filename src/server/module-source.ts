// Where tenants' modules come from, always as bytes named by their digest.
// The interface is what several nodes would share (an OCI registry, pulled by
// digest); the default reads files, the local store and pinned OCI references,
// and keeps every module it has resolved in the local store, by digest, so a
// restart needs nothing but the data dir. A pinned reference's manifest is
// kept too (by its own digest, in a store of its own): it names the module's
// digest, so a restart or a reload finds the module without the registry.

import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { readOpenedFile } from '../policy/read-text.js';
import { openStore, type Store } from '../store/local.js';
import { pullModule, wasmLayerDigest } from '../store/oci.js';
import { parseOciReference, type OciReference } from '../store/reference.js';
import type { ModuleRef } from './config.js';

export interface ResolvedModule {
  digest: string;
  bytes: Uint8Array;
}

export interface ModuleSource {
  /** Resolves a configured reference to bytes (fetching once) and keeps them by digest. */
  resolve(ref: ModuleRef): Promise<ResolvedModule>;
  /** The bytes a reference names, fetched but not kept: a deploy keeps them only once admitted. */
  fetch(ref: ModuleRef): Promise<Uint8Array>;
  /** Keeps uploaded bytes (a deploy) by digest. */
  put(bytes: Uint8Array): ResolvedModule;
  /** Bytes kept under a digest, or null. */
  get(digest: string): ResolvedModule | null;
}

export class ModuleSourceError extends Error {
  override name = 'ModuleSourceError';
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export class LocalModuleSource implements ModuleSource {
  private readonly store: Store;
  /** Bytes held in memory by digest, so a digest's bytes are one object (the sandbox keys its compile cache on it). */
  private readonly held = new Map<string, Uint8Array>();

  /** Manifests of pinned references resolved before, by their digest (`<data>/oci/blobs/sha256/`). */
  private readonly manifests: Store;

  constructor(dataDir: string, private readonly maxBytes: number) {
    this.store = openStore(dataDir);
    this.manifests = openStore(`${dataDir}/oci`);
  }

  async resolve(ref: ModuleRef): Promise<ResolvedModule> {
    if (ref.kind === 'store') {
      const kept = this.get(ref.digest);
      if (!kept) throw new ModuleSourceError(`${ref.digest} is not in the store`);
      return kept;
    }
    if (ref.kind === 'oci') {
      const oci = parseOciReference(ref.reference);
      const kept = this.pinned(oci);
      if (kept) return kept;
      const pulled = await this.pull(oci);
      const module = this.put(pulled.module);
      try {
        this.manifests.put(pulled.manifest);
      } catch {
        // Only a shortcut: without it, the next start pulls again.
      }
      return module;
    }
    return this.put(await this.fetch(ref));
  }

  /**
   * The module a pinned reference names, from the data dir: its manifest (re-hashed against the
   * pinned digest, as the store re-hashes every read) names the module's digest, whose bytes the
   * store re-hashes in turn. Null when either is missing or damaged: the reference is pulled again.
   */
  private pinned(ref: OciReference): ResolvedModule | null {
    if (!ref.digest) return null;
    try {
      if (!this.manifests.has(ref.digest)) return null;
      return this.get(wasmLayerDigest(this.manifests.get(ref.digest)));
    } catch {
      return null;
    }
  }

  private pull(ref: OciReference): ReturnType<typeof pullModule> {
    return pullModule(ref, { maxBytes: this.maxBytes, timeoutMs: 30_000 });
  }

  async fetch(ref: ModuleRef): Promise<Uint8Array> {
    if (ref.kind === 'store') return (await this.resolve(ref)).bytes;
    if (ref.kind === 'oci') {
      const oci = parseOciReference(ref.reference);
      return (this.pinned(oci) ?? { bytes: (await this.pull(oci)).module }).bytes;
    }
    // Opened first and judged by the descriptor: a stat of the path then a read of it blocked the
    // server's event loop for ever on a FIFO (a stat says size 0; the read waits for a writer).
    let fd: number;
    try {
      fd = openSync(ref.path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      throw new ModuleSourceError(`cannot read ${ref.path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new ModuleSourceError(`${ref.path} is not a regular file`);
      if (stat.size > this.maxBytes) throw new ModuleSourceError(`${ref.path} is ${stat.size} bytes, over ${this.maxBytes}`);
      return readOpenedFile(fd, stat.size);
    } catch (error) {
      if (error instanceof ModuleSourceError) throw error;
      throw new ModuleSourceError(`cannot read ${ref.path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    } finally {
      closeSync(fd);
    }
  }

  put(bytes: Uint8Array): ResolvedModule {
    if (bytes.length < 8 || !WASM_MAGIC.every((b, i) => bytes[i] === b)) throw new ModuleSourceError('not a WebAssembly module (no \\0asm magic number)');
    const digest = this.store.put(bytes);
    return { digest, bytes: this.hold(digest, bytes) };
  }

  get(digest: string): ResolvedModule | null {
    const held = this.held.get(digest);
    if (held) return { digest, bytes: held };
    if (!this.store.has(digest)) return null;
    return { digest, bytes: this.hold(digest, this.store.get(digest)) };
  }

  private hold(digest: string, bytes: Uint8Array): Uint8Array {
    const existing = this.held.get(digest);
    if (existing) return existing;
    this.held.set(digest, bytes);
    return bytes;
  }

  /** Drops bytes no tenant uses any more from memory (they stay in the store). */
  retainOnly(digests: ReadonlySet<string>): void {
    for (const digest of this.held.keys()) if (!digests.has(digest)) this.held.delete(digest);
  }
}
