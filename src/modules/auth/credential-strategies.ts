import { Injectable } from '@nestjs/common';
import type { Strategy } from 'passport';
import type { PresentedCredentialKind } from './credentials.js';

/**
 * Which passport strategy checks which kind of credential. Auth registers its own; feature
 * modules (API keys, OAuth) register theirs, so the one global guard serves them all
 * without auth importing those modules.
 */
@Injectable()
export class CredentialStrategies {
  private readonly strategies = new Map<PresentedCredentialKind, Strategy>();

  register(kind: PresentedCredentialKind, strategy: Strategy): void {
    this.strategies.set(kind, strategy);
  }

  for(kind: PresentedCredentialKind): Strategy | undefined {
    return this.strategies.get(kind);
  }
}
