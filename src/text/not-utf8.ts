// Node reads its arguments as UTF-8: a file name that is not (bytes of another encoding)
// arrives with U+FFFD in place of them and names no file. Every "not found" of a path the
// user gave says so, since the file is plainly there in `ls`.

/** The words to add to a not-found message for `path`: empty unless it holds U+FFFD. */
export function notUtf8Hint(path: string): string {
  return path.includes('\ufffd') ? ' (its name as given holds U+FFFD: a name that is not UTF-8 cannot be passed to warden; rename the file)' : '';
}

/** `notUtf8Hint` when `code` is ENOENT (the name found nothing), else empty. */
export function notFoundHint(path: string, code: string | undefined): string {
  return code === 'ENOENT' ? notUtf8Hint(path) : '';
}
