import { timingSafeEqual } from 'node:crypto';

/** What evicts a cached credential: its own revocation, or any of its owner's. */
export interface CredentialIdentity {
  readonly id: string;
  readonly userId: string;
}

export interface VerifiedCredential<T> {
  readonly value: T;
  readonly cachedAt: number;
  /** The secret that last passed the full check: compared in constant time instead of re-hashing. */
  verifiedSecret?: Buffer;
}

export interface VerifiedCredentialCacheOptions<T> {
  /** Past it, the oldest entry goes (expired ones first): memory stays bounded whatever is presented. */
  maxEntries: number;
  /** How long an entry may be served without reading the database again; revocation evicts at once. */
  ttlMs: number;
  identify: (value: T) => CredentialIdentity;
}

/**
 * Stored credentials (API keys, personal tokens) read once and then served from memory, so
 * their hot path costs no database round trip. Bounded and short-lived; only what a lookup
 * found usable goes in, so a made-up credential adds nothing, however many are presented.
 * The owning service evicts on every revocation of the credential or its owner (it listens
 * to RevocationService, which hears every instance); a generation, bumped by each eviction,
 * keeps a lookup that raced one from caching what it read before it.
 */
export class VerifiedCredentialCache<T> {
  private readonly entries = new Map<string, VerifiedCredential<T>>();
  private generation = 0;

  constructor(private readonly options: VerifiedCredentialCacheOptions<T>) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry under `key` while it is fresh. */
  get(key: string): VerifiedCredential<T> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (Date.now() - entry.cachedAt < this.options.ttlMs) return entry;
    this.entries.delete(key);
    return undefined;
  }

  /**
   * Reads the credential (from the database) and keeps it under `key` when `keep` finds it
   * usable and nothing was evicted meanwhile. Null, with nothing kept, when `read` finds none.
   */
  async load(
    key: string,
    read: () => Promise<T | null>,
    keep: (value: T) => boolean,
  ): Promise<VerifiedCredential<T> | null> {
    const generation = this.generation;
    const value = await read();
    if (value === null) return null;
    const entry: VerifiedCredential<T> = { value, cachedAt: Date.now() };
    if (generation === this.generation && keep(value)) this.insert(key, entry);
    return entry;
  }

  /** Whether `secret` is the one that last passed the full check for `entry`, in constant time. */
  isVerified(entry: VerifiedCredential<T>, secret: string): boolean {
    const presented = Buffer.from(secret, 'utf8');
    const { verifiedSecret } = entry;
    return verifiedSecret?.length === presented.length && timingSafeEqual(verifiedSecret, presented);
  }

  /** `secret` passed the full check for `entry`: later uses skip it, until the entry goes. */
  rememberVerified(entry: VerifiedCredential<T>, secret: string): void {
    entry.verifiedSecret = Buffer.from(secret, 'utf8');
  }

  evictCredential(id: string): void {
    this.evict((identity) => identity.id === id);
  }

  evictUser(userId: string): void {
    this.evict((identity) => identity.userId === userId);
  }

  private evict(matches: (identity: CredentialIdentity) => boolean): void {
    this.generation += 1;
    for (const [key, entry] of this.entries) {
      if (matches(this.options.identify(entry.value))) this.entries.delete(key);
    }
  }

  /**
   * Map order is insertion order, so the oldest entries come first: expired ones are dropped
   * from the front, then the oldest live one if the cache is still full.
   */
  private insert(key: string, entry: VerifiedCredential<T>): void {
    this.entries.delete(key);
    for (const [oldest, { cachedAt }] of this.entries) {
      const expired = entry.cachedAt - cachedAt >= this.options.ttlMs;
      if (!expired && this.entries.size < this.options.maxEntries) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, entry);
  }
}
