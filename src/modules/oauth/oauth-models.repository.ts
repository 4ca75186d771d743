import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, LessThan, type Repository } from 'typeorm';
import { OAuthModel } from './oauth-model.entity.js';

export type ModelPayload = Record<string, unknown>;

/** The one place that touches `oauth_models`; the provider's adapter and cleanup go through it. */
@Injectable()
export class OAuthModelsRepository {
  constructor(@InjectRepository(OAuthModel) private readonly rows: Repository<OAuthModel>) {}

  async upsert(model: string, id: string, payload: ModelPayload, expiresInSeconds: number | undefined): Promise<void> {
    const text = (key: string) => (typeof payload[key] === 'string' ? (payload[key] as string) : null);
    await this.rows.upsert(
      {
        model,
        id,
        // TypeORM's deep-partial type cannot follow an open jsonb record.
        payload: payload as OAuthModel['payload'] & (() => string),
        grantId: text('grantId'),
        clientId: text('clientId'),
        accountId: text('accountId'),
        uid: text('uid'),
        userCode: text('userCode'),
        expiresAt: expiresInSeconds ? new Date(Date.now() + expiresInSeconds * 1000) : null,
        // A save of an already consumed artifact must not make it redeemable again.
        consumedAt: typeof payload.consumed === 'number' ? new Date(payload.consumed * 1000) : null,
      },
      ['model', 'id'],
    );
  }

  /**
   * Records an id that may be recorded once (a DPoP proof's at the token endpoint) as one
   * atomic insert: false when a live row has it already. The provider looks the id up and
   * then saves it, which lets concurrent requests with the same proof all pass.
   */
  async insertOnce(model: string, id: string, payload: ModelPayload, expiresInSeconds: number): Promise<boolean> {
    const rows: unknown[] = await this.rows.query(
      `INSERT INTO oauth_models (model, id, payload, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, expires_at = EXCLUDED.expires_at
       WHERE oauth_models.expires_at <= now()
       RETURNING id`,
      [model, id, JSON.stringify(payload), expiresInSeconds],
    );
    return rows.length === 1;
  }

  /** Unexpired rows only; a consumed one carries `consumed`, which the provider checks (reuse detection). */
  async find(
    model: string,
    where: { id: string } | { uid: string } | { userCode: string },
  ): Promise<ModelPayload | undefined> {
    const row = await this.rows.findOneBy({ model, ...where });
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
    return row.consumedAt ? { ...row.payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) } : row.payload;
  }

  /**
   * Marks a code or refresh token used, as a compare-and-set: of any number of concurrent
   * redemptions exactly one sees `won`. The provider reads the row before it consumes it, so
   * a plain update would let every concurrent request through; the losers learn the grant
   * the artifact belongs to, so that it can be revoked as for any other reuse.
   */
  async consume(model: string, id: string): Promise<{ won: true } | { won: false; grantId: string | null }> {
    const result = await this.rows
      .createQueryBuilder()
      .update()
      .set({ consumedAt: () => 'now()' })
      .where('model = :model AND id = :id AND consumed_at IS NULL', { model, id })
      .execute();
    if (result.affected === 1) return { won: true };
    const row = await this.rows.findOne({ where: { model, id }, select: { grantId: true } });
    return { won: false, grantId: row?.grantId ?? null };
  }

  /** A grant and everything issued under it (codes, access and refresh tokens), in one statement. */
  async deleteGrant(grantId: string): Promise<void> {
    await this.rows
      .createQueryBuilder()
      .delete()
      .where("grant_id = :grantId OR (model = 'Grant' AND id = :grantId)", { grantId })
      .execute();
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.rows.delete({ model, id });
  }

  async revokeByGrantId(model: string, grantId: string): Promise<void> {
    await this.rows.delete({ model, grantId });
  }

  /** Every token, code and grant a client holds, so deleting the client ends them at once. */
  async deleteAllOfClient(clientId: string): Promise<void> {
    await this.rows.delete({ clientId });
  }

  /**
   * Every grant, token, code and sign-in session of a user: refresh tokens die with the
   * grants, and an unfinished consent with the sign-in session it started from.
   */
  async deleteAllOfAccount(manager: EntityManager, accountId: string): Promise<void> {
    await manager.delete(OAuthModel, { accountId });
  }

  /**
   * The client-credentials tokens of every client the user registered: they act as the user,
   * so they end with the user's other credentials.
   */
  async deleteServiceTokensOfOwner(manager: EntityManager, userId: string): Promise<void> {
    await manager.query(
      `DELETE FROM oauth_models WHERE model = 'ClientCredentials'
       AND client_id IN (SELECT c.client_id FROM oauth_clients c WHERE c.user_id = $1)`,
      [userId],
    );
  }

  /**
   * Every row of a client that no longer exists: the clients a user registered go with the
   * user (a foreign-key cascade), and their tokens must not outlive them.
   */
  async deleteAllOfRemovedClients(manager: EntityManager): Promise<void> {
    await manager
      .createQueryBuilder()
      .delete()
      .from(OAuthModel)
      .where('client_id IS NOT NULL')
      .andWhere('NOT EXISTS (SELECT 1 FROM oauth_clients c WHERE c.client_id = oauth_models.client_id)')
      .execute();
  }

  /** The user's live grants (one per client they allowed), for the credential inventory. */
  async grantsOfAccount(accountId: string): Promise<OAuthModel[]> {
    return this.rows
      .createQueryBuilder('m')
      .where(`m.model = 'Grant' AND m.account_id = :accountId`, { accountId })
      .andWhere('(m.expires_at IS NULL OR m.expires_at > now())')
      .orderBy('m.id')
      .getMany();
  }

  /** Ends one grant of the user with every token and code issued under it; false if none. */
  async deleteGrantOfAccount(accountId: string, grantId: string): Promise<boolean> {
    return this.rows.manager.transaction(async (manager) => {
      const grant = await manager.delete(OAuthModel, { model: 'Grant', id: grantId, accountId });
      if (grant.affected !== 1) return false;
      await manager.delete(OAuthModel, { grantId });
      return true;
    });
  }

  /** Rows expired a day ago: kept that long so a late replay of a refresh token still reads as reuse. */
  async purgeExpired(before: Date): Promise<number> {
    return (await this.rows.delete({ expiresAt: LessThan(before) })).affected ?? 0;
  }
}
