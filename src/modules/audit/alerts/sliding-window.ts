interface Subject {
  /** Times (ms) of the most recent hits inside the window, oldest first; never more than the threshold. */
  hits: number[];
  alertedAt: number | undefined;
}

/**
 * Counts hits per subject (an address, an account) in a sliding window and says when a
 * subject reaches the threshold: once, and not again for that subject until a whole window
 * has passed since its alert. Memory stays bounded: at most `threshold` timestamps per
 * subject and `maxSubjects` subjects (the least recently hit go first).
 */
export class SlidingWindowCounter {
  private readonly subjects = new Map<string, Subject>();

  constructor(
    readonly threshold: number,
    readonly windowMs: number,
    private readonly maxSubjects = 50_000,
  ) {}

  /** Records one hit at `now` (ms); returns the count in the window when this hit raises an alert. */
  hit(subject: string, now: number): number | undefined {
    const entry = this.subjects.get(subject) ?? { hits: [], alertedAt: undefined };
    // Re-inserted on every hit, so the Map's order is least recently hit first.
    this.subjects.delete(subject);
    this.subjects.set(subject, entry);
    if (this.subjects.size > this.maxSubjects) this.evictOldest();
    this.expire(entry, now);
    entry.hits.push(now);
    if (entry.hits.length > this.threshold) entry.hits.shift();
    if (entry.hits.length < this.threshold) return undefined;
    if (entry.alertedAt !== undefined && now - entry.alertedAt < this.windowMs) return undefined;
    entry.alertedAt = now;
    return entry.hits.length;
  }

  /** Forgets subjects with no hit and no alert left in the window. */
  prune(now: number): void {
    for (const [subject, entry] of this.subjects) {
      this.expire(entry, now);
      const alertLive = entry.alertedAt !== undefined && now - entry.alertedAt < this.windowMs;
      if (entry.hits.length === 0 && !alertLive) this.subjects.delete(subject);
    }
  }

  get size(): number {
    return this.subjects.size;
  }

  private expire(entry: Subject, now: number): void {
    const since = now - this.windowMs;
    let stale = 0;
    while (stale < entry.hits.length && (entry.hits[stale] as number) <= since) stale += 1;
    if (stale > 0) entry.hits.splice(0, stale);
  }

  private evictOldest(): void {
    const oldest = this.subjects.keys().next();
    if (!oldest.done) this.subjects.delete(oldest.value);
  }
}
