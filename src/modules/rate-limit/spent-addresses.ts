/** A limit as the RateLimit headers report it. */
export interface AppliedLimit {
  name: string;
  limit: number;
  remaining: number;
  resetSeconds: number;
  windowSeconds: number;
}

/** At most this many spent addresses are remembered; past it the least recently refused are forgotten. */
const MAX_SPENT_ADDRESSES = 10_000;

/**
 * Address buckets whose per-address budget is spent, until their window ends. The credential
 * guard asks here before it looks a credential up: a flood of guessed tokens from one
 * address costs one Map lookup per request once its budget is gone (no database, no Redis,
 * no strategy). What is forgotten (past the bound, or after a restart) is only learnt
 * again from the shared counter on the next request: the limit itself never loosens.
 */
export class SpentAddresses {
  private readonly spent = new Map<string, { applied: AppliedLimit; until: number }>();

  constructor(private readonly capacity = MAX_SPENT_ADDRESSES) {}

  note(bucket: string, applied: AppliedLimit, now = Date.now()): void {
    this.spent.delete(bucket);
    this.spent.set(bucket, { applied, until: now + applied.resetSeconds * 1000 });
    if (this.spent.size > this.capacity) {
      const oldest = this.spent.keys().next();
      if (!oldest.done) this.spent.delete(oldest.value);
    }
  }

  /** The spent limit of `bucket` with its time left, or undefined when it has budget again. */
  check(bucket: string, now = Date.now()): AppliedLimit | undefined {
    const entry = this.spent.get(bucket);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.spent.delete(bucket);
      return undefined;
    }
    return { ...entry.applied, remaining: 0, resetSeconds: Math.ceil((entry.until - now) / 1000) };
  }

  get size(): number {
    return this.spent.size;
  }
}
