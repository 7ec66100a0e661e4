// Ed25519 keys in wasmsign2's raw formats (public: 0x01 ‖ 32 bytes; secret:
// 0x81 ‖ 32-byte seed ‖ 32-byte public key) or PEM, through node:crypto, which
// verifies strictly (RFC 8032).

import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export const PUBLIC_KEY_TAG = 0x01;
export const SECRET_KEY_TAG = 0x81;

export class KeyError extends Error {
  override name = 'KeyError';
}

export interface PublicKey {
  raw: Uint8Array;
  /** First 12 bytes of HMAC-SHA256(key = raw public key, "key_id"), as wasmsign2 derives it. */
  keyId: Uint8Array;
  object: KeyObject;
}

export interface SecretKey {
  seed: Uint8Array;
  publicKey: PublicKey;
  object: KeyObject;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

export function defaultKeyId(rawPublicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', rawPublicKey).update('key_id').digest().subarray(0, 12));
}

export function publicKeyFromRaw(raw: Uint8Array): PublicKey {
  if (raw.length !== 32) throw new KeyError(`an Ed25519 public key has 32 bytes, not ${raw.length}`);
  const object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
  return { raw: new Uint8Array(raw), keyId: defaultKeyId(raw), object };
}

function fromKeyObject(object: KeyObject): Uint8Array {
  if (object.asymmetricKeyType !== 'ed25519') throw new KeyError(`expected an Ed25519 key, got ${object.asymmetricKeyType ?? 'an unknown type'}`);
  const jwk = object.export({ format: 'jwk' }) as { x?: string; d?: string };
  return new Uint8Array(Buffer.from(object.type === 'private' ? jwk.d! : jwk.x!, 'base64url'));
}

export function secretKeyFromSeed(seed: Uint8Array): SecretKey {
  if (seed.length !== 32) throw new KeyError(`an Ed25519 seed has 32 bytes, not ${seed.length}`);
  const object = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(derivePublic(seed)) }, format: 'jwk' });
  return { seed: new Uint8Array(seed), publicKey: publicKeyFromRaw(derivePublic(seed)), object };
}

function derivePublic(seed: Uint8Array): Uint8Array {
  // Importing the seed alone yields the key pair; node:crypto derives the public half.
  const object = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  return new Uint8Array(Buffer.from((createPublicKey(object).export({ format: 'jwk' }) as { x: string }).x, 'base64url'));
}

const isPem = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 64)).toString('latin1').includes('-----BEGIN');

/** A public key file: wasmsign2 raw (0x01 ‖ 32 bytes) or PEM (SPKI). */
export function parsePublicKey(bytes: Uint8Array): PublicKey {
  if (isPem(bytes)) {
    let object: KeyObject;
    try {
      object = createPublicKey(Buffer.from(bytes).toString('utf8'));
    } catch (error) {
      throw new KeyError(`not a readable PEM public key (${(error as Error).message})`);
    }
    return publicKeyFromRaw(fromKeyObject(object));
  }
  if (bytes[0] === SECRET_KEY_TAG) throw new KeyError('this is a secret key; verification takes a public key');
  if (bytes[0] !== PUBLIC_KEY_TAG) throw new KeyError(`unknown key type 0x${(bytes[0] ?? 0).toString(16)} (expected 0x01, an Ed25519 public key)`);
  if (bytes.length !== 33) throw new KeyError(`a raw public key has 33 bytes, not ${bytes.length}`);
  return publicKeyFromRaw(bytes.subarray(1));
}

/** A secret key file: wasmsign2 raw (0x81 ‖ seed ‖ public key) or PEM (PKCS#8). */
export function parseSecretKey(bytes: Uint8Array): SecretKey {
  if (isPem(bytes)) {
    let object: KeyObject;
    try {
      object = createPrivateKey(Buffer.from(bytes).toString('utf8'));
    } catch (error) {
      throw new KeyError(`not a readable PEM secret key (${(error as Error).message})`);
    }
    return secretKeyFromSeed(fromKeyObject(object));
  }
  if (bytes[0] === PUBLIC_KEY_TAG) throw new KeyError('this is a public key; signing takes a secret key');
  if (bytes[0] !== SECRET_KEY_TAG) throw new KeyError(`unknown key type 0x${(bytes[0] ?? 0).toString(16)} (expected 0x81, an Ed25519 secret key)`);
  if (bytes.length !== 65) throw new KeyError(`a raw secret key has 65 bytes, not ${bytes.length}`);
  const key = secretKeyFromSeed(bytes.subarray(1, 33));
  if (!Buffer.from(key.publicKey.raw).equals(Buffer.from(bytes.subarray(33)))) throw new KeyError('the secret key\'s public half does not match its seed');
  return key;
}

export function generateSecretKey(): SecretKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return secretKeyFromSeed(fromKeyObject(privateKey));
}

export const encodePublicKey = (key: PublicKey): Uint8Array => Uint8Array.from([PUBLIC_KEY_TAG, ...key.raw]);
export const encodeSecretKey = (key: SecretKey): Uint8Array => Uint8Array.from([SECRET_KEY_TAG, ...key.seed, ...key.publicKey.raw]);
