import { Injectable } from '@nestjs/common';

/**
 * Whether this instance is on its way out. Set on SIGTERM before the grace period, so the
 * readiness probe turns 503 and the load balancer stops sending new requests while the
 * ones in flight finish.
 */
@Injectable()
export class Lifecycle {
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  beginDraining(): void {
    this.draining = true;
  }
}
