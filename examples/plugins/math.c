// A reactor module with plain numeric exports, for `warden run --invoke`
// (docs/plugins.md, section 1). No imports: it reaches nothing but its memory.

__attribute__((export_name("add"))) int add(int a, int b) { return a + b; }

// Doubles the whole part and keeps the fraction: 1.5 -> 2.5.
__attribute__((export_name("scale"))) double scale(double x) {
  long long whole = (long long)x;
  return x + (double)whole;
}

// Counts down from n: a loop whose cost the caller sets, to try --fuel and --timeout on.
__attribute__((export_name("spin"))) long long spin(long long n) {
  volatile long long left = n;
  while (left > 0) left--;
  return left;
}
