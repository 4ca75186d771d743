import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, type EntityManager, type FindOptionsWhere, type Repository } from 'typeorm';
import { CredentialLimitError } from '../auth/credentials/attenuation.js';
import { newestFirst, type Keyset } from '../../db/keyset.js';
import { ApiKeyAddress } from './api-key-address.entity.js';
import { ApiKey } from './api-key.entity.js';

export type NewApiKey = Omit<ApiKey, 'id' | 'createdAt' | 'revokedAt' | 'lastUsedAt' | 'lastUsedIp'>;

/** `ownerId` undefined: every user's keys (api-keys:manage); otherwise only that owner's. */
export type KeyOwnerScope = { ownerId: string } | { ownerId: undefined };

/** What storing an address of a key found: whether it was new, and whether the key had another before. */
export interface AddressStored {
  isNew: boolean;
  hadOthers: boolean;
}

// One statement: of two instances storing the same pair at once, only one finds it new. The
// SELECT reads the table as it was before the INSERT. A pair already stored gets its
// last_seen_at refreshed, unless it was refreshed less than $3 seconds ago (by another
// instance, or before a restart): at most one write per pair in that time.
const REMEMBER_ADDRESS = `
  WITH added AS (
    INSERT INTO api_key_addresses (key_id, address) VALUES ($1::uuid, $2::varchar)
    ON CONFLICT DO NOTHING RETURNING 1
  ), refreshed AS (
    UPDATE api_key_addresses SET last_seen_at = now()
    WHERE key_id = $1::uuid AND address = $2::varchar AND last_seen_at < now() - make_interval(secs => $3::int)
  )
  SELECT EXISTS (SELECT 1 FROM added) AS is_new,
    EXISTS (SELECT 1 FROM api_key_addresses WHERE key_id = $1::uuid AND address <> $2::varchar) AS had_others`;

// Ranks each key's addresses, the last seen first. The newest stays whatever its age: were it
// purged, the key's next use from anywhere would count as its first and raise no alert. The
// rest go when not seen since the cut-off ($1), or when ranked past the cap ($2). At most $3
// rows per statement, so no purge holds many row locks or one long transaction.
const PURGE_ADDRESSES = `
  WITH doomed AS (
    SELECT key_id, address FROM (
      SELECT key_id, address, last_seen_at,
        row_number() OVER (PARTITION BY key_id ORDER BY last_seen_at DESC, address) AS recency
      FROM api_key_addresses
    ) ranked
    WHERE recency > $2::int OR (recency > 1 AND last_seen_at < $1::timestamptz)
    LIMIT $3::int
  )
  DELETE FROM api_key_addresses a USING doomed WHERE a.key_id = doomed.key_id AND a.address = doomed.address`;

/** What the purge of a key's addresses keeps. */
export interface AddressRetention {
  /** Addresses last seen before this go (but a key's newest one). */
  unseenSince: Date;
  /** The most addresses one key keeps; the least recently seen beyond it go. */
  perKey: number;
  /** Rows deleted per statement. */
  batch: number;
}

@Injectable()
export class ApiKeysRepository {
  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    @InjectRepository(ApiKeyAddress) private readonly addresses: Repository<ApiKeyAddress>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Inserts the key unless its owner already holds `limit` live ones. The owner's live keys
   * are counted under a per-user advisory lock, so parallel requests cannot all pass the count.
   */
  insertWithinLimit(key: NewApiKey, limit: number): Promise<ApiKey> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('api_keys:' || $1, 0))`, [key.userId]);
      const [{ live }] = (await manager.query(
        `SELECT count(*)::int AS live FROM api_keys
         WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
        [key.userId],
      )) as [{ live: number }];
      if (live >= limit) throw new CredentialLimitError(`You hold ${live} live API keys, the most allowed.`);
      return manager.save(manager.create(ApiKey, key));
    });
  }

  /** Revokes every live key of the user in the caller's transaction; returns their ids. */
  async revokeAllOfUser(manager: EntityManager, userId: string): Promise<string[]> {
    const [rows] = (await manager.query(
      `UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`,
      [userId],
    )) as [{ id: string }[], number];
    return rows.map((row) => row.id);
  }

  liveOfUser(userId: string): Promise<ApiKey[]> {
    return this.keys
      .createQueryBuilder('k')
      .where('k.user_id = :userId AND k.revoked_at IS NULL', { userId })
      .andWhere('(k.expires_at IS NULL OR k.expires_at > now())')
      .orderBy('k.created_at', 'DESC')
      .getMany();
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

  /** Revokes the key in the caller's transaction; false when it was not live. */
  async revoke(manager: EntityManager, id: string): Promise<boolean> {
    return (await manager.update(ApiKey, { id, revokedAt: IsNull() }, { revokedAt: new Date() })).affected === 1;
  }

  /** Swaps the secret in place (id, name, scopes and limits stay), in the caller's transaction. */
  async replaceSecret(manager: EntityManager, id: string, secretHash: Buffer): Promise<boolean> {
    return (await manager.update(ApiKey, { id, revokedAt: IsNull() }, { secretHash })).affected === 1;
  }

  async recordUse(id: string, at: Date, address: string): Promise<void> {
    await this.keys.update({ id }, { lastUsedAt: at, lastUsedIp: address.slice(0, 64) });
  }

  /** Stores the pair, or refreshes when it was last seen if that is `refreshAfterSeconds` old or more. */
  async rememberAddress(keyId: string, address: string, refreshAfterSeconds: number): Promise<AddressStored> {
    const [row] = (await this.addresses.query(REMEMBER_ADDRESS, [keyId, address, refreshAfterSeconds])) as {
      is_new: boolean;
      had_others: boolean;
    }[];
    return { isNew: row?.is_new === true, hadOthers: row?.had_others === true };
  }

  /** Deletes addresses the retention no longer keeps, batch after batch; returns how many. */
  async purgeAddresses(retention: AddressRetention): Promise<number> {
    let total = 0;
    for (;;) {
      const [, deleted] = (await this.addresses.query(PURGE_ADDRESSES, [
        retention.unseenSince,
        retention.perKey,
        retention.batch,
      ])) as [unknown[], number];
      total += deleted;
      if (deleted < retention.batch) return total;
    }
  }

  private where(scope: KeyOwnerScope): FindOptionsWhere<ApiKey> {
    return scope.ownerId ? { userId: scope.ownerId } : {};
  }
}
