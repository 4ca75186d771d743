import { Module } from '@nestjs/common';
import { ResourcesModule } from '../resources/resources.module.js';
import { BenchController } from './bench.controller.js';

/** Loaded only when ENABLE_BENCH_ROUTES=true, which the configuration refuses in production. */
@Module({
  imports: [ResourcesModule],
  controllers: [BenchController],
})
export class BenchModule {}
