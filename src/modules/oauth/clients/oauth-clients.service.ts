import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { hashOpaqueToken, newOpaqueToken } from '../../../common/auth/opaque-token.js';
import type { Principal } from '../../../common/auth/principal.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../../common/errors/app-error.js';
import { decodeCursor, toPage, type Page, type PageQuery } from '../../../common/http/pagination.js';
import { CreatedOAuthClientResponse, OAuthClientResponse, type CreateOAuthClientDto } from '../dto/oauth-client.dto.js';
import { OAuthModelsRepository } from '../oauth-models.repository.js';
import type { OAuthClient } from './oauth-client.entity.js';
import { OAuthClientsRepository } from './oauth-clients.repository.js';

/**
 * A client secret is an opaque token (256 random bits), stored as one is hashed; in hex, the
 * form the column has always held.
 */
export function hashClientSecret(secret: string): string {
  return hashOpaqueToken(secret).toString('hex');
}

/** Registration of OAuth clients (oauth-clients:manage): who may use the authorization server. */
@Injectable()
export class OAuthClientsService {
  constructor(
    private readonly clients: OAuthClientsRepository,
    private readonly models: OAuthModelsRepository,
  ) {}

  async create(me: Principal, body: CreateOAuthClientDto): Promise<CreatedOAuthClientResponse> {
    checkGrantTypes(body);
    // A client-credentials token acts for the registering user: it must not reach beyond them.
    const beyond = body.scopes.filter((scope) => !me.permissions.has(scope));
    if (beyond.length > 0) throw new ForbiddenError(`You cannot grant scopes you do not have: ${beyond.join(', ')}.`);
    const secret = body.public ? undefined : newOpaqueToken('nsa_ocs');
    const client = await this.clients.insert({
      clientId: randomUUID(),
      userId: me.userId,
      name: body.name,
      secretHash: secret ? hashClientSecret(secret) : null,
      redirectUris: body.redirectUris,
      grantTypes: body.grantTypes,
      scopes: body.scopes,
      isPublic: body.public,
    });
    return { ...OAuthClientResponse.from(client), ...(secret ? { clientSecret: secret } : {}) };
  }

  async list(query: PageQuery): Promise<Page<OAuthClientResponse>> {
    const rows = await this.clients.list(query.limit + 1, decodeCursor(query.cursor));
    return toPage(rows, query.limit, (row) => OAuthClientResponse.from(row), keyOf);
  }

  async get(clientId: string): Promise<OAuthClientResponse> {
    const client = await this.clients.findById(clientId);
    if (!client) throw new NotFoundError('No such OAuth client.');
    return OAuthClientResponse.from(client);
  }

  /** The client and every code, token and grant it holds end at once. */
  async delete(clientId: string): Promise<void> {
    if (!(await this.clients.delete(clientId))) throw new NotFoundError('No such OAuth client.');
    await this.models.deleteAllOfClient(clientId);
  }
}

function keyOf(client: OAuthClient) {
  return { createdAt: client.createdAt, id: client.clientId };
}

function checkGrantTypes(body: CreateOAuthClientDto): void {
  const has = (grant: string) => body.grantTypes.includes(grant as CreateOAuthClientDto['grantTypes'][number]);
  if (body.public && has('client_credentials')) {
    throw new BadRequestError('A public client has no secret, so it cannot use client_credentials.');
  }
  if (has('refresh_token') && !has('authorization_code')) {
    throw new BadRequestError('refresh_token comes with authorization_code.');
  }
  if (has('authorization_code') && body.redirectUris.length === 0) {
    throw new BadRequestError('authorization_code needs at least one redirect URI.');
  }
  if (!has('authorization_code') && body.redirectUris.length > 0) {
    throw new BadRequestError('Redirect URIs are only for authorization_code clients.');
  }
  for (const uri of body.redirectUris) {
    const url = new URL(uri);
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    if (url.hash || url.username || url.password) throw new BadRequestError(`${uri}: no fragment or credentials.`);
    if (url.protocol !== 'https:' && !loopback) throw new BadRequestError(`${uri}: https, or http on loopback only.`);
  }
}
