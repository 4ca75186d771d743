import { Module } from '@nestjs/common';
import { ResourcesModule } from '../resources/resources.module.js';
import { BenchController } from './bench.controller.js';
import { EventLoopDelayMonitor } from './event-loop-delay.js';

/** Loaded only when ENABLE_BENCH_ROUTES=true, which the configuration refuses in production. */
@Module({
  imports: [ResourcesModule],
  controllers: [BenchController],
  providers: [EventLoopDelayMonitor],
})
export class BenchModule {}
