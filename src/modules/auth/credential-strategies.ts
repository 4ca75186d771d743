import { Injectable } from '@nestjs/common';
import type { Strategy } from 'passport';
import type { CredentialKind } from './credentials.js';

/**
 * Which passport strategy checks which kind of credential. Auth registers its own; feature
 * modules (API keys, OAuth) register theirs, so the one global guard serves them all
 * without auth importing those modules.
 */
@Injectable()
export class CredentialStrategies {
  private readonly strategies = new Map<CredentialKind, Strategy>();

  register(kind: CredentialKind, strategy: Strategy): void {
    this.strategies.set(kind, strategy);
  }

  for(kind: CredentialKind): Strategy | undefined {
    return this.strategies.get(kind);
  }
}
