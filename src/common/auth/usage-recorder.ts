/**
 * Decides when a "last used" write is due: at most once per interval per credential, so
 * a busy credential costs one write a minute instead of one per request.
 */
export class UsageRecorder {
  private readonly lastWrite = new Map<string, number>();

  constructor(private readonly intervalMs = 60_000) {}

  isDue(id: string, now = Date.now()): boolean {
    const last = this.lastWrite.get(id);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.lastWrite.set(id, now);
    if (this.lastWrite.size > 10_000) this.prune(now);
    return true;
  }

  private prune(now: number): void {
    for (const [id, at] of this.lastWrite) if (now - at >= this.intervalMs) this.lastWrite.delete(id);
  }
}
