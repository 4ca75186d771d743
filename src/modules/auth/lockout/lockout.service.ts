import { Injectable } from '@nestjs/common';
import { CounterStore } from '../../../common/redis/counter-store.js';
import { TooManyRequestsError } from '../../../common/errors/app-error.js';
import { addressBucket } from '../../../common/http/client-address.js';
import { MetricsRegistry } from '../../../common/metrics/metrics-registry.js';
import { AppConfig } from '../../../config/app-config.js';

/**
 * django-axes for every password path: attempts counted per account and per address in a
 * window (shared through Redis when configured); past the limit, 429 until the window
 * passes, even with the right password.
 *
 * An attempt is counted before its password is checked (one atomic increment), so parallel
 * guesses cannot all read the old count during the slow hash; a successful one is then
 * given back. What remains counted is failures.
 */
@Injectable()
export class LockoutService {
  constructor(
    private readonly config: AppConfig,
    private readonly counters: CounterStore,
    private readonly metrics: MetricsRegistry,
  ) {}

  /** Counts one attempt, or refuses it (429) when the account or the address is over its limit. */
  async reserveAttempt(email: string, address: string): Promise<void> {
    const { maxFailuresPerAccount, maxFailuresPerAddress, windowSeconds } = this.config.lockout;
    const [account, client] = await Promise.all([
      this.counters.hit(accountKey(email), windowSeconds),
      this.counters.hit(addressKey(address), windowSeconds),
    ]);
    const overAccount = account.count > maxFailuresPerAccount;
    const overAddress = client.count > maxFailuresPerAddress;
    if (overAccount || overAddress) {
      this.metrics.lockouts.inc();
      const retryAfter = Math.max(overAccount ? account.resetInSeconds : 0, overAddress ? client.resetInSeconds : 0);
      throw new TooManyRequestsError('Too many failed sign-in attempts; try again later.', retryAfter);
    }
  }

  /** The attempt was right: the account starts over, and the address gets its attempt back. */
  async recordSuccess(email: string, address: string): Promise<void> {
    await Promise.all([this.counters.clear(accountKey(email)), this.counters.decrement(addressKey(address))]);
  }
}

const accountKey = (email: string) => `lockout:account:${email}`;
const addressKey = (address: string) => `lockout:address:${addressBucket(address)}`;
