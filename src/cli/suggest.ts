// "Did you mean": the closest known word to a mistyped one, when it is close
// enough to be a slip (two edits, or one for short words) rather than a guess.

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  // Edit distance with adjacent transpositions (`rnu` is one slip from `run`).
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row[j] = d;
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** The candidate `word` was most likely meant to be, or null. */
export function closest(word: string, candidates: Iterable<string>): string | null {
  const allowed = word.length <= 4 ? 1 : 2;
  let best: string | null = null;
  let bestDistance = allowed + 1;
  for (const candidate of candidates) {
    const d = candidate.startsWith(word) && word.length >= 3 ? 1 : distance(word, candidate);
    if (d < bestDistance) { best = candidate; bestDistance = d; }
  }
  return best;
}

/** ` (did you mean X?)`, or nothing. */
export function didYouMean(word: string, candidates: Iterable<string>, prefix = ''): string {
  const match = closest(word, candidates);
  return match ? ` (did you mean ${prefix}${match}?)` : '';
}
