import { Injectable } from '@nestjs/common';
import { CounterStore } from '../../../common/redis/counter-store.js';
import { TooManyRequestsError } from '../../../common/errors/app-error.js';
import { MetricsRegistry } from '../../../common/metrics/metrics-registry.js';
import { AppConfig } from '../../../config/app-config.js';

/**
 * django-axes for every password path: failures counted per account and per address in a
 * window (shared through Redis when configured); past the limit, 429 until the window
 * passes, even with the right password.
 */
@Injectable()
export class LockoutService {
  constructor(
    private readonly config: AppConfig,
    private readonly counters: CounterStore,
    private readonly metrics: MetricsRegistry,
  ) {}

  async assertNotLocked(email: string, address: string): Promise<void> {
    const { maxFailuresPerAccount, maxFailuresPerAddress } = this.config.lockout;
    const [account, client] = await Promise.all([
      this.counters.peek(accountKey(email)),
      this.counters.peek(addressKey(address)),
    ]);
    if (account.count >= maxFailuresPerAccount || client.count >= maxFailuresPerAddress) {
      const retryAfter = Math.max(
        account.count >= maxFailuresPerAccount ? account.resetInSeconds : 0,
        client.count >= maxFailuresPerAddress ? client.resetInSeconds : 0,
      );
      this.metrics.lockouts.inc();
      throw new TooManyRequestsError('Too many failed sign-in attempts; try again later.', retryAfter);
    }
  }

  async recordFailure(email: string, address: string): Promise<void> {
    const window = this.config.lockout.windowSeconds;
    await Promise.all([this.counters.hit(accountKey(email), window), this.counters.hit(addressKey(address), window)]);
  }

  /** A successful sign-in clears the account's count (not the address's). */
  async recordSuccess(email: string): Promise<void> {
    await this.counters.clear(accountKey(email));
  }
}

const accountKey = (email: string) => `lockout:account:${email}`;
const addressKey = (address: string) => `lockout:address:${address}`;
