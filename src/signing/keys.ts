// Ed25519 keys through node:crypto, which verifies strictly (RFC 8032).
// Formats read: wasmsign2's raw formats (public: 0x01 ‖ 32 bytes; secret:
// 0x81 ‖ 32-byte seed ‖ 32-byte public key), PEM (SPKI / PKCS#8), DER, and
// OpenSSH public keys (`ssh-ed25519 AAAA…`). Written: the raw formats.
// Every way a key file can be wrong has its own message: empty, truncated,
// another algorithm, a secret key where a public one belongs and the reverse.

import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export const PUBLIC_KEY_TAG = 0x01;
export const SECRET_KEY_TAG = 0x81;
const RAW_PUBLIC_BYTES = 33;
const RAW_SECRET_BYTES = 65;
/** The largest key file read: PEM, DER and OpenSSH keys are a few hundred bytes. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

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
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function defaultKeyId(rawPublicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', rawPublicKey).update('key_id').digest().subarray(0, 12));
}

const P = (1n << 255n) - 19n;
/** y of the points of small order: 1 (order 1), -1 (order 2), 0 (order 4), ±Y8 (order 8), x of either sign. */
const Y8 = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n;
const SMALL_ORDER_Y = new Set([0n, 1n, P - 1n, Y8, P - Y8]);

/** Whether a 32-byte encoding names a point of small order, read as node:crypto reads it (y modulo p, either sign of x). */
function hasSmallOrder(raw: Uint8Array): boolean {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? raw[i]! & 0x7f : raw[i]!);
  return SMALL_ORDER_Y.has(y % P);
}

export function publicKeyFromRaw(raw: Uint8Array): PublicKey {
  if (raw.length !== 32) throw new KeyError(`an Ed25519 public key has 32 bytes, not ${raw.length}`);
  // Such a key has no secret behind it: node:crypto (as RFC 8032) accepts R = identity,
  // S = 0 under it for one message in at most eight, so anyone could sign as it. The
  // all-zero key of a placeholder file is one of them.
  if (hasSmallOrder(raw)) throw new KeyError('a weak Ed25519 public key (a point of small order): anyone could make signatures that verify with it');
  let object: KeyObject;
  try {
    object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
  } catch {
    throw new KeyError('not a valid Ed25519 public key');
  }
  return { raw: new Uint8Array(raw), keyId: defaultKeyId(raw), object };
}

export function secretKeyFromSeed(seed: Uint8Array): SecretKey {
  if (seed.length !== 32) throw new KeyError(`an Ed25519 seed has 32 bytes, not ${seed.length}`);
  const object = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = publicKeyFromRaw(rawOf(createPublicKey(object)));
  return { seed: new Uint8Array(seed), publicKey, object };
}

/** The 32 raw bytes of an Ed25519 KeyObject: the public key, or a private key's seed. */
function rawOf(object: KeyObject): Uint8Array {
  if (object.asymmetricKeyType !== 'ed25519') throw new KeyError(`expected an Ed25519 key, got ${object.asymmetricKeyType ?? 'an unknown key type'}`);
  const jwk = object.export({ format: 'jwk' }) as { x?: string; d?: string };
  return new Uint8Array(Buffer.from((object.type === 'private' ? jwk.d : jwk.x) ?? '', 'base64url'));
}

type Encoding = { kind: 'raw' } | { kind: 'pem'; label: string; text: string } | { kind: 'der' } | { kind: 'openssh'; text: string };

function classify(bytes: Uint8Array): Encoding {
  if (bytes.length === 0) throw new KeyError('the key file is empty');
  if (bytes.length > MAX_KEY_FILE_BYTES) throw new KeyError(`a key file of ${bytes.length} bytes is too large to be a key`);
  if (bytes[0] === PUBLIC_KEY_TAG || bytes[0] === SECRET_KEY_TAG) return { kind: 'raw' };
  if (bytes[0] === 0x30) {
    checkDerLength(bytes);
    return { kind: 'der' };
  }
  const text = Buffer.from(bytes).toString('utf8');
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  if (label) {
    checkOnePemBlock(text);
    return { kind: 'pem', label, text };
  }
  if (/^\s*(ssh-[a-z0-9-]+|ecdsa-[a-z0-9-]+|sk-[a-z0-9-@.]+)\s/.test(text)) return { kind: 'openssh', text };
  throw new KeyError(`unknown key type (first byte 0x${bytes[0]!.toString(16).padStart(2, '0')}; expected 0x01 for a raw Ed25519 public key, 0x81 for a secret key, PEM, DER or OpenSSH)`);
}

const isSecretLabel = (label: string) => label.includes('PRIVATE KEY');

// A key file holds one key and nothing else. node:crypto reads the first PEM block or DER
// structure and ignores what follows: a file of two keys was trusted as its first alone (the
// second signer silently untrusted, a threshold counting the file once), and bytes appended
// to a key went unseen, so two tools could read two different keys from one file.

/** One BEGIN … END block, with nothing but whitespace around it. */
function checkOnePemBlock(text: string): void {
  const blocks = text.match(/-----BEGIN [^\r\n]*?-----/g)?.length ?? 0;
  if (blocks > 1) throw new KeyError(`the file holds ${blocks} PEM blocks; a key file holds one key`);
  if (!/^\s*-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----\s*$/.test(text)) {
    throw new KeyError('a PEM key file holds one BEGIN … END block and nothing else (text was found around it, or no END line)');
  }
}

/** The outer DER SEQUENCE's length covers the file exactly. */
function checkDerLength(bytes: Uint8Array): void {
  if (bytes.length < 2) throw new KeyError('truncated DER key');
  const first = bytes[1]!;
  let header = 2;
  let length = first;
  if (first & 0x80) {
    const octets = first & 0x7f;
    // A key file is at most MAX_KEY_FILE_BYTES: two length octets always suffice.
    if (octets === 0 || octets > 2) throw new KeyError('not a DER key (an unusable length)');
    if (bytes.length < 2 + octets) throw new KeyError('truncated DER key');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + bytes[2 + i]!;
    header += octets;
  }
  const extra = bytes.length - header - length;
  if (extra > 0) throw new KeyError(`${extra} bytes after the DER key; a key file holds one key and nothing else`);
  if (extra < 0) throw new KeyError('truncated DER key');
}

function readSshString(blob: Buffer, at: number): [Buffer, number] {
  if (at + 4 > blob.length) throw new KeyError('truncated OpenSSH public key');
  const length = blob.readUInt32BE(at);
  if (at + 4 + length > blob.length) throw new KeyError('truncated OpenSSH public key');
  return [blob.subarray(at + 4, at + 4 + length), at + 4 + length];
}

function parseOpenSsh(text: string): PublicKey {
  // One line: an authorized_keys-style list would be trusted as its first key alone.
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '').length;
  if (lines > 1) throw new KeyError(`the OpenSSH key file has ${lines} lines; a key file holds one key on one line`);
  const [type, base64] = text.trim().split(/\s+/);
  if (type !== 'ssh-ed25519') throw new KeyError(`expected an Ed25519 key, got an OpenSSH ${type} key`);
  if (!base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new KeyError('the OpenSSH public key is not base64');
  const blob = Buffer.from(base64, 'base64');
  const [name, next] = readSshString(blob, 0);
  if (name.toString('latin1') !== 'ssh-ed25519') throw new KeyError('the OpenSSH key blob does not hold an Ed25519 key');
  const [raw, end] = readSshString(blob, next);
  if (end !== blob.length) throw new KeyError('trailing bytes in the OpenSSH public key');
  return publicKeyFromRaw(raw);
}

function importKey(make: () => KeyObject, what: string): KeyObject {
  try {
    return make();
  } catch (error) {
    const message = (error as Error).message;
    if (/passphrase/i.test(message)) throw new KeyError('encrypted keys are not supported; decrypt it first');
    throw new KeyError(`not a readable ${what} (${message})`);
  }
}

export interface PublicKeyOptions {
  /** The key id signatures by this key carry, when the signer chose one (default: wasmsign2's derived id). */
  keyId?: Uint8Array;
}

/** A public key file: raw (0x01 ‖ 32 bytes), PEM or DER (SPKI), or OpenSSH `ssh-ed25519`. */
export function parsePublicKey(bytes: Uint8Array, options: PublicKeyOptions = {}): PublicKey {
  const key = parsePublicKeyFile(bytes);
  if (options.keyId === undefined) return key;
  if (options.keyId.length === 0 || options.keyId.length > 255) throw new KeyError('a key id has 1 to 255 bytes');
  return { ...key, keyId: new Uint8Array(options.keyId) };
}

function parsePublicKeyFile(bytes: Uint8Array): PublicKey {
  const encoding = classify(bytes);
  switch (encoding.kind) {
    case 'raw':
      if (bytes[0] === SECRET_KEY_TAG) throw new KeyError('this is a secret key; verification takes a public key');
      if (bytes.length !== RAW_PUBLIC_BYTES) throw new KeyError(`a raw Ed25519 public key has ${RAW_PUBLIC_BYTES} bytes, not ${bytes.length}`);
      return publicKeyFromRaw(bytes.subarray(1));
    case 'pem':
      if (isSecretLabel(encoding.label)) throw new KeyError('this is a secret key; verification takes a public key');
      return publicKeyFromRaw(rawOf(importKey(() => createPublicKey({ key: encoding.text, format: 'pem' }), 'PEM public key')));
    case 'der':
      return publicKeyFromRaw(rawOf(importKey(() => createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' }), 'DER public key')));
    case 'openssh':
      return parseOpenSsh(encoding.text);
  }
}

/** A secret key file: raw (0x81 ‖ seed ‖ public key), or PEM or DER (PKCS#8). */
export function parseSecretKey(bytes: Uint8Array): SecretKey {
  const encoding = classify(bytes);
  switch (encoding.kind) {
    case 'raw': {
      if (bytes[0] === PUBLIC_KEY_TAG) throw new KeyError('this is a public key; signing takes a secret key');
      if (bytes.length !== RAW_SECRET_BYTES) throw new KeyError(`a raw Ed25519 secret key has ${RAW_SECRET_BYTES} bytes, not ${bytes.length}`);
      const key = secretKeyFromSeed(bytes.subarray(1, 33));
      if (!Buffer.from(key.publicKey.raw).equals(bytes.subarray(33))) throw new KeyError('the secret key\'s public half does not match its seed');
      return key;
    }
    case 'pem':
      if (!isSecretLabel(encoding.label)) throw new KeyError('this is a public key; signing takes a secret key');
      if (encoding.label === 'OPENSSH PRIVATE KEY') throw new KeyError('OpenSSH secret keys are not supported; convert with `ssh-keygen -p -m PKCS8 -f KEY`');
      return secretKeyFromSeed(rawOf(importKey(() => createPrivateKey({ key: encoding.text, format: 'pem' }), 'PEM secret key')));
    case 'der':
      return secretKeyFromSeed(rawOf(importKey(() => createPrivateKey({ key: Buffer.from(bytes), format: 'der', type: 'pkcs8' }), 'DER secret key')));
    case 'openssh':
      throw new KeyError('this is an OpenSSH public key; signing takes a secret key');
  }
}

export function generateSecretKey(): SecretKey {
  return secretKeyFromSeed(rawOf(generateKeyPairSync('ed25519').privateKey));
}

/** A fresh key pair: the secret key and its public half. */
export function generateKeyPair(): { secretKey: SecretKey; publicKey: PublicKey } {
  const secretKey = generateSecretKey();
  return { secretKey, publicKey: secretKey.publicKey };
}

export const loadPublicKey = parsePublicKey;
export const loadSecretKey = parseSecretKey;

export function encodePublicKey(key: PublicKey): Uint8Array {
  const out = new Uint8Array(RAW_PUBLIC_BYTES);
  out[0] = PUBLIC_KEY_TAG;
  out.set(key.raw, 1);
  return out;
}

export function encodeSecretKey(key: SecretKey): Uint8Array {
  const out = new Uint8Array(RAW_SECRET_BYTES);
  out[0] = SECRET_KEY_TAG;
  out.set(key.seed, 1);
  out.set(key.publicKey.raw, 33);
  return out;
}
