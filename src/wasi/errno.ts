// WASI preview1 errno values (witx `errno`, u16).

export const Errno = {
  SUCCESS: 0, TOOBIG: 1, ACCES: 2, ADDRINUSE: 3, ADDRNOTAVAIL: 4, AFNOSUPPORT: 5,
  AGAIN: 6, ALREADY: 7, BADF: 8, BADMSG: 9, BUSY: 10, CANCELED: 11, CHILD: 12,
  CONNABORTED: 13, CONNREFUSED: 14, CONNRESET: 15, DEADLK: 16, DESTADDRREQ: 17,
  DOM: 18, DQUOT: 19, EXIST: 20, FAULT: 21, FBIG: 22, HOSTUNREACH: 23, IDRM: 24,
  ILSEQ: 25, INPROGRESS: 26, INTR: 27, INVAL: 28, IO: 29, ISCONN: 30, ISDIR: 31,
  LOOP: 32, MFILE: 33, MLINK: 34, MSGSIZE: 35, MULTIHOP: 36, NAMETOOLONG: 37,
  NETDOWN: 38, NETRESET: 39, NETUNREACH: 40, NFILE: 41, NOBUFS: 42, NODEV: 43,
  NOENT: 44, NOEXEC: 45, NOLCK: 46, NOLINK: 47, NOMEM: 48, NOMSG: 49,
  NOPROTOOPT: 50, NOSPC: 51, NOSYS: 52, NOTCONN: 53, NOTDIR: 54, NOTEMPTY: 55,
  NOTRECOVERABLE: 56, NOTSOCK: 57, NOTSUP: 58, NOTTY: 59, NXIO: 60, OVERFLOW: 61,
  OWNERDEAD: 62, PERM: 63, PIPE: 64, PROTO: 65, PROTONOSUPPORT: 66, PROTOTYPE: 67,
  RANGE: 68, ROFS: 69, SPIPE: 70, SRCH: 71, STALE: 72, TIMEDOUT: 73, TXTBSY: 74,
  XDEV: 75, NOTCAPABLE: 76,
} as const;

export type Errno = (typeof Errno)[keyof typeof Errno];

/** An operation refused with a WASI errno. The only error a capability may throw. */
export class WasiError extends Error {
  readonly errno: Errno;
  constructor(errno: Errno, message?: string) {
    super(message ?? `errno ${errno}`);
    this.name = 'WasiError';
    this.errno = errno;
  }
}

const errnoByCode: Record<string, Errno> = {
  EACCES: Errno.ACCES, EAGAIN: Errno.AGAIN, EBADF: Errno.BADF, EBUSY: Errno.BUSY,
  EDQUOT: Errno.DQUOT, EEXIST: Errno.EXIST, EFBIG: Errno.FBIG, EILSEQ: Errno.ILSEQ,
  EINTR: Errno.INTR, EINVAL: Errno.INVAL, EIO: Errno.IO, EISDIR: Errno.ISDIR,
  ELOOP: Errno.LOOP, EMFILE: Errno.MFILE, EMLINK: Errno.MLINK,
  ENAMETOOLONG: Errno.NAMETOOLONG, ENFILE: Errno.NFILE, ENODEV: Errno.NODEV,
  ENOENT: Errno.NOENT, ENOMEM: Errno.NOMEM, ENOSPC: Errno.NOSPC, ENOSYS: Errno.NOSYS,
  ENOTDIR: Errno.NOTDIR, ENOTEMPTY: Errno.NOTEMPTY, ENOTSUP: Errno.NOTSUP,
  EOPNOTSUPP: Errno.NOTSUP, ENXIO: Errno.NXIO, EOVERFLOW: Errno.OVERFLOW,
  EPERM: Errno.PERM, ERANGE: Errno.RANGE, EROFS: Errno.ROFS, ESPIPE: Errno.SPIPE,
  ETXTBSY: Errno.TXTBSY, EXDEV: Errno.XDEV, EPIPE: Errno.PIPE,
};

/** Maps a Node system error (err.code) to a WASI errno; unknown codes become EIO. */
export function errnoFromNodeError(error: unknown): Errno {
  if (error instanceof WasiError) return error.errno;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in errnoByCode) return errnoByCode[code]!;
  return Errno.IO;
}

/** `error` as the WasiError a capability may throw: itself when it is one, else its errno. */
export function asWasiError(error: unknown): WasiError {
  return error instanceof WasiError ? error : new WasiError(errnoFromNodeError(error));
}
