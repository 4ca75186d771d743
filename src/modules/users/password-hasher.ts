import { availableParallelism } from 'node:os';
import { Injectable } from '@nestjs/common';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import pLimit from 'p-limit';
import { ServiceUnavailableError } from '../../common/errors/app-error.js';

// OWASP's argon2id baseline (m=19 MiB, t=2, p=1): about 20 ms here, off the event loop.
// Algorithm is an ambient const enum, which isolatedModules cannot read: 2 is Argon2id.
const ARGON2_OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** The threads of libuv's pool, where argon2 runs: Node's default (the server does not change it). */
const LIBUV_POOL_THREADS = 4;

/**
 * Hashes running at once: one per core, and never the whole of libuv's pool. Each holds its
 * 19 MiB while it runs (four at once were 80 MB of RSS above a quiet process, measured), more
 * than one per core only time-slices the cores, and the file reads, DNS lookups and crypto of
 * every other request wait for a free thread of the same pool.
 */
export const CONCURRENT_HASHES = Math.max(1, Math.min(availableParallelism(), LIBUV_POOL_THREADS - 1));

/**
 * Hashes waiting beyond this are refused with a 503 at once: the rate limits and the lockout
 * come first, but addresses enough (a botnet's) could otherwise queue work without bound. At
 * about 20 ms a hash, a full queue is about a second of work on two cores.
 */
export const MAX_QUEUED_HASHES = 64;

@Injectable()
export class PasswordHasher {
  private readonly running = pLimit(CONCURRENT_HASHES);
  // Verified when the email is unknown, so a wrong email costs as much as a wrong password.
  private readonly dummyHash = this.limited(() => hash('not-a-real-password-just-equal-cost', ARGON2_OPTIONS));

  hash(password: string): Promise<string> {
    return this.limited(() => hash(password, ARGON2_OPTIONS));
  }

  async verify(passwordHash: string | undefined, password: string): Promise<boolean> {
    const stored = passwordHash ?? (await this.dummyHash);
    return this.limited(async () => {
      try {
        return await verify(stored, password);
      } catch {
        // A stored value that is not an argon2 hash matches nothing.
        return false;
      }
    });
  }

  private limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running.pendingCount >= MAX_QUEUED_HASHES) {
      return Promise.reject(
        new ServiceUnavailableError('The server is busy hashing passwords; try again in a moment.'),
      );
    }
    return this.running(work);
  }
}
