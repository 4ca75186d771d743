import fc from 'fast-check';
import type { World } from './world.js';

/*
 * Symbols for values known only when a request is sent (ids, credentials, cursors) or too long to
 * print, and how they become text. Part of the fuzz suite, test/e2e/fuzz.e2e-spec.ts.
 */

export type RefName =
  | 'userId'
  | 'adminId'
  | 'resourcePrivate'
  | 'resourcePublic'
  | 'apiKeyId'
  | 'tokenId'
  | 'recent'
  | 'cursor'
  | 'userJwt'
  | 'adminJwt'
  | 'userToken'
  | 'userApiKey'
  | 'adminSid'
  | 'adminCsrf'
  | 'refreshToken'
  | 'userEmail'
  | 'userPassword'
  | 'adminEmail';

export type Twist = 'none' | 'flip' | 'truncate' | 'upper' | 'junk' | 'twice' | 'padded';

abstract class Sym {
  abstract resolve(world: World): string;
  abstract [fc.toStringMethod](): string;
}

/** Something the world holds: an id, a credential, a cursor; optionally bent out of shape. */
export class Ref extends Sym {
  constructor(
    readonly name: RefName,
    readonly twist: Twist = 'none',
    readonly index = 0,
  ) {
    super();
  }
  resolve(world: World): string {
    return twisted(world.ref(this.name, this.index), this.twist);
  }
  [fc.toStringMethod](): string {
    return `Ref(${this.name}${this.index ? `#${this.index}` : ''}${this.twist === 'none' ? '' : `, ${this.twist}`})`;
  }
}

export class Repeat extends Sym {
  constructor(
    readonly unit: string,
    readonly times: number,
  ) {
    super();
  }
  resolve(): string {
    return this.unit.repeat(this.times);
  }
  [fc.toStringMethod](): string {
    return `${JSON.stringify(this.unit)}.repeat(${this.times})`;
  }
}

export class Cat extends Sym {
  constructor(readonly parts: Text[]) {
    super();
  }
  resolve(world: World): string {
    return this.parts.map((part) => text(part, world)).join('');
  }
  [fc.toStringMethod](): string {
    return this.parts.map((part) => fc.stringify(part)).join(' + ');
  }
}

/** A path segment or query component sent exactly as written, e.g. a malformed `%E0%A4%A`. */
export class Raw extends Sym {
  constructor(readonly encoded: string) {
    super();
  }
  resolve(): string {
    return this.encoded;
  }
  [fc.toStringMethod](): string {
    return `Raw(${JSON.stringify(this.encoded)})`;
  }
}

export type Text = string | Sym;

export function text(value: Text, world: World): string {
  return typeof value === 'string' ? value : value.resolve(world);
}

function twisted(value: string, twist: Twist): string {
  switch (twist) {
    case 'none':
      return value;
    case 'flip':
      return value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A');
    case 'truncate':
      return value.slice(0, Math.floor(value.length / 2));
    case 'upper':
      return value.toUpperCase();
    case 'junk':
      return `${value}.x`;
    case 'twice':
      return `${value} ${value}`;
    case 'padded':
      return `  ${value}\t`;
  }
}

/** Replaces every Sym in a JSON value by its text. */
export function materialize(value: unknown, world: World): unknown {
  if (value instanceof Sym) return value.resolve(world);
  if (Array.isArray(value)) return value.map((item) => materialize(item, world));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, materialize(item, world)]));
  }
  return value;
}

/** Percent-encodes the UTF-8 of a component (lone surrogates become U+FFFD, as a client would send them). */
export function encodeComponent(value: Text, world: World): string {
  if (value instanceof Raw) return value.encoded;
  return [...Buffer.from(text(value, world), 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');
}

/** What Node's HTTP client lets through in a header: the UTF-8 bytes read as Latin-1, no controls. */
export function headerSafe(value: string): string {
  return Buffer.from(value, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
}
