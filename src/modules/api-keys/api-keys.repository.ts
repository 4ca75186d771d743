import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type FindOptionsWhere, type Repository } from 'typeorm';
import { newestFirst, type Keyset } from '../../common/http/pagination.js';
import { ApiKeyAddress } from './api-key-address.entity.js';
import { ApiKey } from './api-key.entity.js';

/** `ownerId` undefined: every user's keys (api-keys:manage); otherwise only that owner's. */
export type KeyOwnerScope = { ownerId: string } | { ownerId: undefined };

/** What storing an address of a key found: whether it was new, and whether the key had another before. */
export interface AddressStored {
  isNew: boolean;
  hadOthers: boolean;
}

// One statement: of two instances storing the same pair at once, only one finds it new. The
// SELECT reads the table as it was before the INSERT.
const REMEMBER_ADDRESS = `
  WITH added AS (
    INSERT INTO api_key_addresses (key_id, address) VALUES ($1::uuid, $2::varchar)
    ON CONFLICT DO NOTHING RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM added) AS is_new,
    EXISTS (SELECT 1 FROM api_key_addresses WHERE key_id = $1::uuid AND address <> $2::varchar) AS had_others`;

@Injectable()
export class ApiKeysRepository {
  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    @InjectRepository(ApiKeyAddress) private readonly addresses: Repository<ApiKeyAddress>,
  ) {}

  insert(key: Omit<ApiKey, 'id' | 'createdAt' | 'revokedAt' | 'lastUsedAt' | 'lastUsedIp'>): Promise<ApiKey> {
    return this.keys.save(this.keys.create(key));
  }

  /** Revoked keys too: a refused use should still name the key that was tried. */
  findByPrefix(prefix: string): Promise<ApiKey | null> {
    return this.keys.findOneBy({ prefix });
  }

  findInScope(scope: KeyOwnerScope, id: string): Promise<ApiKey | null> {
    return this.keys.findOneBy({ ...this.where(scope), id, revokedAt: IsNull() });
  }

  list(scope: KeyOwnerScope, limit: number, after?: Keyset): Promise<ApiKey[]> {
    const query = this.keys.createQueryBuilder('k').where('k.revoked_at IS NULL');
    if (scope.ownerId) query.andWhere('k.user_id = :ownerId', { ownerId: scope.ownerId });
    return newestFirst(query, ['k.created_at', 'k.id'], limit, after).getMany();
  }

  async revoke(scope: KeyOwnerScope, id: string): Promise<ApiKey | null> {
    const key = await this.findInScope(scope, id);
    if (!key) return null;
    await this.keys.update({ id, revokedAt: IsNull() }, { revokedAt: new Date() });
    return key;
  }

  /** Swaps the secret in place: id, name, scopes and limits stay. */
  async replaceSecret(id: string, secretHash: Buffer): Promise<void> {
    await this.keys.update({ id }, { secretHash });
  }

  async recordUse(id: string, at: Date, address: string): Promise<void> {
    await this.keys.update({ id }, { lastUsedAt: at, lastUsedIp: address.slice(0, 64) });
  }

  async rememberAddress(keyId: string, address: string): Promise<AddressStored> {
    const [row] = (await this.addresses.query(REMEMBER_ADDRESS, [keyId, address])) as {
      is_new: boolean;
      had_others: boolean;
    }[];
    return { isNew: row?.is_new === true, hadOthers: row?.had_others === true };
  }

  private where(scope: KeyOwnerScope): FindOptionsWhere<ApiKey> {
    return scope.ownerId ? { userId: scope.ownerId } : {};
  }
}
