import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { newestFirst, type Keyset } from '../../../db/keyset.js';
import { OAuthClient } from './oauth-client.entity.js';

@Injectable()
export class OAuthClientsRepository {
  constructor(@InjectRepository(OAuthClient) private readonly clients: Repository<OAuthClient>) {}

  insert(client: Omit<OAuthClient, 'createdAt'>): Promise<OAuthClient> {
    return this.clients.save(this.clients.create(client));
  }

  findById(clientId: string): Promise<OAuthClient | null> {
    return this.clients.findOneBy({ clientId });
  }

  list(limit: number, after?: Keyset): Promise<OAuthClient[]> {
    const query = this.clients.createQueryBuilder('c');
    return newestFirst(query, ['c.created_at', 'c.client_id'], limit, after).getMany();
  }

  async delete(clientId: string): Promise<boolean> {
    return ((await this.clients.delete({ clientId })).affected ?? 0) > 0;
  }
}
