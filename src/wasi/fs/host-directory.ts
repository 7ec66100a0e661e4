// A host directory granted to the guest. Every path is resolved beneath it by
// walk.ts; the final step acts on a single name relative to a descriptor we
// hold, so no operation ever re-resolves a path string the guest influenced.

import {
  closeSync, constants, fstatSync, fsyncSync, linkSync, lstatSync, mkdirSync,
  openSync, readdirSync, readlinkSync, renameSync, rmdirSync, symlinkSync, unlinkSync,
} from 'node:fs';
import { Errno, WasiError, asWasiError } from '../errno.js';
import { closeQuietly } from './close-quietly.js';
import { HostFile } from './host-file.js';
import { fileTypeOf, toFileStat } from './host-stat.js';
import { closeFd, fstatShape, lstatAt, openAt, unlinkAt } from './native-at.js';
import { DIRECTORY_BLOCK, allowCreate, chargeCreate, creationCost } from './quota.js';
import { PAGE } from './storage-meter.js';
import { READ_ONLY, READ_ONLY_DESCRIPTOR } from './refusals.js';
import { depthInMount, refuseLinkLeadingOut, refuseMovedLinksLeadingOut, removeLinksLeadingOut, type MountId } from './planted-links.js';
import { setFdTimes, setTimesAt } from './timestamps.js';
import { ESCAPE, isSingleName, procPath, release, resolve, type Resolved } from './walk.js';
import { FileType, type DirEntry, type Directory, type File, type FileStat, type OpenOptions, type Quota, type TimeUpdate } from './types.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const O_CLOEXEC = (constants as { O_CLOEXEC?: number }).O_CLOEXEC ?? 0x80000;

export { READ_ONLY } from './refusals.js';

export interface HostDirectoryOptions {
  readOnly?: boolean;
  quota: Quota;
  /** The current time in ns, for timestamps set to "now": the run's clock capability. */
  now: () => bigint;
}

/** Whether a name exists, a dangling link included. */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw asWasiError(error);
  }
}

/** Opens a host directory as a capability. Throws a plain Error when the host path is unusable. */
export function hostDirectory(hostPath: string, options: HostDirectoryOptions): Directory {
  let fd: number;
  try {
    fd = openSync(hostPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } catch (error) {
    throw new Error(`cannot open directory ${hostPath}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  return new HostDirectory(fd, options.readOnly ?? false, options.quota, options.now);
}

export class HostDirectory implements Directory {
  readonly kind = 'dir' as const;
  private closed = false;

  constructor(
    readonly fd: number,
    readonly readOnly: boolean,
    private readonly quota: Quota,
    private readonly now: () => bigint,
    /** The mount's root directory (absent: this directory is the root). */
    mountRoot?: MountId,
  ) {
    this.rootId = mountRoot ?? null;
    this.isMountRoot = mountRoot === undefined;
  }

  private rootId: MountId | null;
  private readonly isMountRoot: boolean;

  /**
   * The mount root's identity, taken from the root's own descriptor when first
   * needed (most runs never link, rename or open a subdirectory): the
   * descriptor names one directory for its whole life, so a later fstat gives
   * what one at open would have.
   */
  private get mountRoot(): MountId {
    if (this.rootId === null) {
      this.rootId = wrap(() => {
        const stat = fstatSync(this.fd, { bigint: true });
        return { dev: stat.dev, ino: stat.ino };
      });
    }
    return this.rootId;
  }

  /** How deep this directory sits below its mount's root now (a walk up the tree, unless it is the root). */
  private readonly depthInMount = (): number => (this.isMountRoot ? 0 : wrap(() => depthInMount(this.fd, this.mountRoot)));

  /** How deep `fd` (this directory, or one a walk from it holds) sits below the mount's root now. */
  private realDepth(fd: number): number {
    return fd === this.fd ? this.depthInMount() : depthInMount(fd, this.mountRoot);
  }

  private at<T>(path: string, follow: boolean, fn: (r: Resolved, target: string) => T): T {
    if (this.closed) throw new WasiError(Errno.BADF);
    const resolved = wrap(() => resolve(this.fd, path, follow));
    try {
      return wrap(() => fn(resolved, procPath(resolved.parent, resolved.name)));
    } finally {
      release(resolved);
    }
  }

  /** The filesystem's allocation unit (st_blksize, at least a page), for charging new files' writes. */
  private unit = 0;
  private allocationUnit(): number {
    if (this.unit === 0) this.unit = Math.max(PAGE, wrap(() => fstatShape(this.fd).blksize));
    return this.unit;
  }

  private mutable(): void {
    if (this.readOnly) throw new WasiError(READ_ONLY);
  }

  open(path: string, options: OpenOptions): File | Directory {
    const writes = options.write || options.truncate;
    if (this.readOnly && (writes || options.create)) throw new WasiError(READ_ONLY);
    if (this.closed) throw new WasiError(Errno.BADF);
    // One name to follow: opened as named first, which the final open's O_NOFOLLOW makes safe,
    // and saves the lstat that following would take. Only a symlink fails there in a way the
    // walk answers differently (ELOOP; ENOTDIR under O_DIRECTORY; EEXIST under O_EXCL): those
    // take the walk, which follows the link beneath the root. Nothing is created, truncated or
    // charged by an open that failed. Not while creation is refused for the quota, so an
    // EDQUOT is decided once, after resolution, as the walk decides it. A single name resolves
    // to this directory's descriptor and the name itself (walk.ts, `resolve`), so it is opened
    // there directly: no resolution record, no callback.
    const createRefused = options.create && this.quota.filesCreated >= this.quota.maxFilesCreated;
    if (options.followSymlinks && !createRefused && isSingleName(path)) {
      try {
        return this.openEntry(this.fd, path, false, options);
      } catch (error) {
        const errno = (error as WasiError).errno;
        if (!(error instanceof WasiError) || (errno !== Errno.LOOP && errno !== Errno.NOTDIR && errno !== Errno.EXIST)) throw error;
      }
    }
    const resolved = this.resolveBeneath(path, options.followSymlinks);
    try {
      return this.openEntry(resolved.parent, resolved.name, resolved.trailingSlash, options);
    } finally {
      release(resolved);
    }
  }

  /** Resolves `path` beneath this directory (the caller releases the result). */
  private resolveBeneath(path: string, follow: boolean): Resolved {
    try {
      return resolve(this.fd, path, follow);
    } catch (error) {
      throw asWasiError(error);
    }
  }

  /** Opens `name` in the directory `parent` (held by this walk or this directory itself) without following a link. */
  private openEntry(parent: number, name: string, trailingSlash: boolean, options: OpenOptions): File | Directory {
    try {
      const wantsDir = options.directory || trailingSlash;
      // APPEND alone does not open for writing (as Wasmtime 49): writes need FD_WRITE or O_TRUNC.
      const access = options.write || options.truncate ? (options.read ? O_RDWR : O_WRONLY) : O_RDONLY;
      let flags = access | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (wantsDir ? O_DIRECTORY : 0) | (options.truncate ? O_TRUNC : 0);
      if (name === '.') {
        if (options.create && options.exclusive) throw new WasiError(Errno.EXIST);
        if (access !== O_RDONLY) throw new WasiError(Errno.ISDIR);
        flags &= ~O_TRUNC;
      }
      const { fd, created } = this.openCounted(parent, name, flags, options);
      const readable = access !== O_WRONLY;
      const writable = access !== O_RDONLY;
      // A file this call created is a regular file, empty; anything else is checked.
      if (created) {
        const known = writable ? { size: 0, allocated: 0, unit: this.allocationUnit() } : undefined;
        return new HostFile(fd, readable, writable, options.append, this.quota, this.now, this.readOnly, known);
      }
      let shape;
      try {
        shape = fstatShape(fd);
      } catch (error) {
        closeFd(fd);
        throw error;
      }
      if (shape.filetype === FileType.Directory) return new HostDirectory(fd, this.readOnly, this.quota, this.now, this.mountRoot);
      if (shape.filetype !== FileType.RegularFile) {
        closeFd(fd);
        throw new WasiError(Errno.NOTSUP);
      }
      // What is there already is not the guest's to pay for; growth from here on is.
      const known = { size: shape.size, allocated: shape.allocated, unit: Math.max(PAGE, shape.blksize) };
      return new HostFile(fd, readable, writable, options.append, this.quota, this.now, this.readOnly, known);
    } catch (error) {
      throw asWasiError(error);
    }
  }

  /**
   * Opens, creating the file when asked, and counts a creation against the
   * quota exactly once: O_EXCL tells a creation from an open of what exists.
   */
  private openCounted(parent: number, name: string, flags: number, options: OpenOptions): { fd: number; created: boolean } {
    if (!options.create) return { fd: openAt(parent, name, flags), created: false };
    if (this.quota.filesCreated < this.quota.maxFilesCreated) {
      try {
        const fd = openAt(parent, name, flags | O_CREAT | O_EXCL, 0o644);
        chargeCreate(this.quota);
        return { fd, created: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || options.exclusive) throw error;
        return { fd: openAt(parent, name, flags), created: false };
      }
    }
    // The quota is spent: opening what exists is still fine, creating is not.
    if (options.exclusive) allowCreate(this.quota);
    try {
      return { fd: openAt(parent, name, flags), created: false };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') allowCreate(this.quota);
      throw error;
    }
  }

  stat(): FileStat {
    return wrap(() => toFileStat(fstatSync(this.fd, { bigint: true })));
  }

  statAt(path: string, followSymlinks: boolean): FileStat {
    // Without SYMLINK_FOLLOW, trailing slashes do not make the final name a directory:
    // it is lstat'ed as named (a link to a directory stays a link), as in Wasmtime 49.
    if (!followSymlinks && /[^/]\/+$/.test(path)) path = path.replace(/\/+$/, '');
    // One name: its lstat is the answer unless it is a link to follow, which takes the walk.
    if (isSingleName(path)) {
      if (this.closed) throw new WasiError(Errno.BADF);
      let stat: FileStat | undefined;
      try {
        stat = lstatAt(this.fd, path);
      } catch (error) {
        throw asWasiError(error);
      }
      if (stat === undefined) throw new WasiError(Errno.NOENT);
      if (!followSymlinks || stat.filetype !== FileType.SymbolicLink) return stat;
    }
    return this.at(path, followSymlinks, (resolved, target) => toFileStat(resolved.stat ?? lstatSync(target, { bigint: true })));
  }

  setTimesAt(path: string, followSymlinks: boolean, atim: TimeUpdate, mtim: TimeUpdate): void {
    this.mutable();
    this.at(path, followSymlinks, (resolved, target) => setTimesAt(resolved.parent, resolved.name, target, atim, mtim, this.now));
  }

  setTimes(atim: TimeUpdate, mtim: TimeUpdate): void {
    // fd_filestat_set_times on a directory descriptor of a read-only mount: EPERM, as Wasmtime.
    if (this.readOnly) throw new WasiError(READ_ONLY_DESCRIPTOR);
    wrap(() => setFdTimes(this.fd, atim, mtim, this.now));
  }

  createDirectory(path: string): void {
    this.mutable();
    this.at(path, false, (resolved, target) => {
      if (resolved.name === '.') throw new WasiError(Errno.EXIST);
      // A directory keeps a block on disk filesystems (and an entry in its parent): a mkdir flood is storage.
      const cost = creationCost(resolved.name, DIRECTORY_BLOCK);
      allowCreate(this.quota, cost);
      mkdirSync(target, 0o755);
      chargeCreate(this.quota, cost);
    });
  }

  removeDirectory(path: string): void {
    this.mutable();
    this.at(path, false, (resolved, target) => {
      if (resolved.name === '.') throw new WasiError(Errno.INVAL);
      rmdirSync(target);
    });
  }

  unlinkFile(path: string): void {
    this.mutable();
    // One name: removed beneath this directory's own descriptor, as the walk would resolve it.
    if (isSingleName(path)) {
      if (this.closed) throw new WasiError(Errno.BADF);
      try {
        unlinkAt(this.fd, path);
      } catch (error) {
        throw asWasiError(error);
      }
      return;
    }
    this.at(path, false, (resolved, target) => {
      if (resolved.name === '.') throw new WasiError(Errno.ISDIR);
      if (resolved.trailingSlash) throw new WasiError(lstatSync(target).isDirectory() ? Errno.ISDIR : Errno.NOTDIR);
      unlinkSync(target);
    });
  }

  symlink(linkTarget: string, path: string): void {
    this.mutable();
    if (linkTarget.includes('\0')) throw new WasiError(Errno.ILSEQ);
    // A link that names an absolute host path would be a trap for whoever follows it on the host.
    if (linkTarget.startsWith('/')) throw new WasiError(ESCAPE);
    this.at(path, false, (resolved, target) => {
      if (resolved.name === '.') throw new WasiError(Errno.EXIST);
      // A link's name cannot end in '/': EEXIST when something is there, ENOENT when not (as Wasmtime 49).
      if (resolved.trailingSlash) throw new WasiError(exists(target) ? Errno.EXIST : Errno.NOENT);
      // So would a relative one that climbs out from the link's own directory (`../outside`).
      refuseLinkLeadingOut(linkTarget, resolved.depth, this.depthInMount);
      // The host keeps the target string: it is charged with the link's entry.
      const cost = creationCost(resolved.name, Buffer.byteLength(linkTarget));
      allowCreate(this.quota, cost);
      symlinkSync(linkTarget, target);
      chargeCreate(this.quota, cost);
      // Judged again where it now sits: a run sharing this mount may have moved its directory
      // up since the check above (the race that check alone lost: planted-links.ts).
      if (removeLinksLeadingOut(resolved.parent, resolved.name, () => this.realDepth(resolved.parent), false, { target: linkTarget })) throw new WasiError(ESCAPE);
    });
  }

  readlink(path: string): Uint8Array {
    return this.at(path, false, (resolved, target) => {
      if (resolved.name === '.') throw new WasiError(Errno.INVAL);
      return new Uint8Array(readlinkSync(target, { encoding: 'buffer' }));
    });
  }

  private peer(other: Directory): HostDirectory {
    if (!(other instanceof HostDirectory)) throw new WasiError(Errno.XDEV);
    if (other.closed) throw new WasiError(Errno.BADF);
    return other;
  }

  rename(from: string, targetDir: Directory, to: string): void {
    const destination = this.peer(targetDir);
    this.mutable();
    destination.mutable();
    this.at(from, false, (source, sourcePath) => {
      if (source.name === '.') throw new WasiError(Errno.BUSY);
      destination.at(to, false, (dest, destPath) => {
        if (dest.name === '.') throw new WasiError(Errno.BUSY);
        const kind = lstatSync(sourcePath, { bigint: true });
        if ((source.trailingSlash || dest.trailingSlash) && !kind.isDirectory()) throw new WasiError(Errno.NOTDIR);
        // A link moved up a level would climb one level further: check it from where it lands,
        // and so for every link inside a directory moved up (or into another mount).
        let sourceDepth: number | null = null;
        let known: { target: string; ino: bigint } | undefined;
        if (kind.isSymbolicLink()) {
          known = { target: readlinkSync(sourcePath), ino: kind.ino };
          refuseLinkLeadingOut(known.target, dest.depth, destination.depthInMount);
        } else if (kind.isDirectory()) {
          const to = dest.depth + destination.depthInMount();
          const sameMount = destination.mountRoot.dev === this.mountRoot.dev && destination.mountRoot.ino === this.mountRoot.ino;
          if (!sameMount || to < source.depth + this.depthInMount()) refuseMovedLinksLeadingOut(sourcePath, to + 1);
          if (sameMount) sourceDepth = this.realDepth(source.parent);
        }
        renameSync(sourcePath, destPath);
        // Judged again where it landed, by where its directory sits now: a run sharing this mount
        // may have made a link inside, or moved a directory above, since the checks above. A
        // directory is walked when it now sits higher than it did (or came from another mount,
        // or was not one a moment ago).
        let now: number | undefined;
        const depth = (): number => (now ??= destination.realDepth(dest.parent));
        const walk = sourceDepth === null || depth() < sourceDepth;
        if (removeLinksLeadingOut(dest.parent, dest.name, depth, walk, known)) throw new WasiError(ESCAPE);
      });
    });
  }

  link(from: string, followSymlinks: boolean, targetDir: Directory, to: string): void {
    const destination = this.peer(targetDir);
    // A new name for a file in a read-only mount would make it writable through the new name.
    this.mutable();
    destination.mutable();
    this.at(from, followSymlinks, (source, sourcePath) => {
      const kind = source.name === '.' ? null : lstatSync(sourcePath, { bigint: true });
      if (kind === null || kind.isDirectory()) throw new WasiError(Errno.PERM);
      destination.at(to, false, (dest, destPath) => {
        if (dest.name === '.') throw new WasiError(Errno.EXIST);
        if (dest.trailingSlash) throw new WasiError(exists(destPath) ? Errno.EXIST : Errno.NOENT);
        // A second name for a link (link() does not follow it) is checked from its new directory.
        const known = kind.isSymbolicLink() ? { target: readlinkSync(sourcePath), ino: kind.ino } : undefined;
        if (known) refuseLinkLeadingOut(known.target, dest.depth, destination.depthInMount);
        allowCreate(this.quota);
        linkSync(sourcePath, destPath);
        chargeCreate(this.quota);
        // Judged again where it landed (as a rename's): the checks above judged the tree as it was.
        if (removeLinksLeadingOut(dest.parent, dest.name, () => destination.realDepth(dest.parent), false, known)) throw new WasiError(ESCAPE);
      });
    });
  }

  entries(): DirEntry[] {
    if (this.closed) throw new WasiError(Errno.BADF);
    return wrap(() => {
      const dir = procPath(this.fd, '.');
      return readdirSync(dir).sort().map((name) => {
        try {
          const stat = lstatSync(`${dir}/${name}`, { bigint: true });
          return { name, ino: stat.ino, filetype: fileTypeOf(stat) };
        } catch {
          return { name, ino: 0n, filetype: FileType.Unknown };
        }
      });
    });
  }

  sync(): void {
    wrap(() => fsyncSync(this.fd));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.fd);
  }
}
