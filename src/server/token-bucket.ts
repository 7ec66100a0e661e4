// A token bucket: `rate` tokens a second up to `burst`. Time is passed in, so
// the bucket reads no clock of its own.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly burst: number, nowMs: number) {
    this.tokens = burst;
    this.last = nowMs;
  }

  /** Takes one token: 0 when granted, else the seconds until one will be there. */
  take(nowMs: number): number {
    if (this.rate <= 0) return 0;
    // A reading earlier than the last (the wall clock stepped back) adds nothing and takes nothing: counted as
    // negative time it put the bucket into debt for as long as the step, and every request meanwhile was 429.
    const elapsed = Math.max(0, nowMs - this.last);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.rate);
    this.last = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.rate));
  }
}
