import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/** What the event loop's delay was since the last reset, in milliseconds. */
export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

/** The histogram's resolution: 1 ms (the least Node allows), fine enough for a 20 ms bound. */
const RESOLUTION_MS = 1;

/**
 * The server's event-loop delay (`monitorEventLoopDelay`), for the bench: how long a timer
 * waited past its time while requests ran. What a client sends must never hold the loop.
 */
@Injectable()
export class EventLoopDelayMonitor implements OnModuleDestroy {
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.histogram.enable();
  }

  reset(): void {
    this.histogram.reset();
  }

  read(): EventLoopDelay {
    const ms = (nanoseconds: number) => nanoseconds / 1e6;
    return {
      p50Ms: ms(this.histogram.percentile(50)),
      p99Ms: ms(this.histogram.percentile(99)),
      maxMs: ms(this.histogram.max),
      samples: this.histogram.count,
    };
  }

  onModuleDestroy(): void {
    this.histogram.disable();
  }
}
