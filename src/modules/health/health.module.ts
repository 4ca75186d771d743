import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuditModule } from '../audit/audit.module.js';
import { HealthController } from './health.controller.js';
import { Lifecycle } from './lifecycle.js';
import { RedisReadiness } from './redis-readiness.js';

@Module({
  // Failures are answered as problem+json and logged by the error filter, not by terminus.
  imports: [TerminusModule.forRoot({ logger: false }), AuditModule],
  controllers: [HealthController],
  providers: [Lifecycle, RedisReadiness],
  exports: [Lifecycle],
})
export class HealthModule {}
