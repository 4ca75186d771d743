import { Module } from '@nestjs/common';
import { BenchController } from './bench.controller.js';

/** Loaded only when ENABLE_BENCH_ROUTES=true, which the configuration refuses in production. */
@Module({
  controllers: [BenchController],
})
export class BenchModule {}
