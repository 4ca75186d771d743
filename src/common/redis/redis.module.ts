import { Global, Module } from '@nestjs/common';
import { CounterStore } from './counter-store.js';
import { RedisService } from './redis.service.js';

@Global()
@Module({
  providers: [RedisService, CounterStore],
  exports: [RedisService, CounterStore],
})
export class RedisModule {}
