import { Injectable } from '@nestjs/common';
import type { CredentialKind } from '../../../common/auth/credential-kind.js';
import type { Permission } from '../../../common/auth/permission.js';
import type { Principal } from '../../../common/auth/principal.js';

/** One live credential of a user, as the inventory shows it: never its secret. */
export interface HeldCredential {
  id: string;
  kind: CredentialKind;
  name: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  /** null: the credential carries its owner's roles (sign-ins, personal tokens). */
  scopes: readonly Permission[] | null;
  createdFrom: { ip: string | null; userAgent: string | null };
  /** The credential making this request. */
  current: boolean;
}

/**
 * Where credentials of one kind live. Each module that issues credentials registers one
 * (auth: sessions, sign-ins, personal tokens; API keys; the OAuth server: grants), so the
 * inventory lists and ends them all without knowing their tables.
 */
export interface CredentialSource {
  readonly kind: CredentialKind;
  list(userId: string, caller: Principal | undefined): Promise<HeldCredential[]>;
  /** Ends one credential of the user; false when the user holds none with this id. */
  end(userId: string, id: string): Promise<boolean>;
}

@Injectable()
export class CredentialInventory {
  private readonly sources: CredentialSource[] = [];

  register(source: CredentialSource): void {
    this.sources.push(source);
  }

  /** Every live credential of the user, newest first; `caller` marks the one in use. */
  async list(userId: string, caller?: Principal): Promise<HeldCredential[]> {
    const lists = await Promise.all(this.sources.map((source) => source.list(userId, caller)));
    return lists.flat().sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  /** Ends the user's credential with this id, whatever its kind; false when there is none. */
  async end(userId: string, id: string): Promise<boolean> {
    for (const source of this.sources) if (await source.end(userId, id)) return true;
    return false;
  }
}
