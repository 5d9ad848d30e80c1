// Per-run SSH credentials. A fresh ed25519 pair per run means no key on disk to protect and
// nothing a previous run left in a guest image can log in: the public half travels to the
// guest on its kernel command line (rh.key=), the private half never leaves this process.
//
// Every ed25519 key of the project (runs, tests, fake servers) is made here, not by ssh2's
// generateKeyPairSync: that one strips *every* leading zero byte of the public key while
// meaning to strip only the BIT STRING's unused-bits byte (ssh2 lib/keygen.js, parseDERs), so
// the 1 in 256 keys whose public half starts with 0x00 come out 31 bytes long and its own
// parser rejects them ("Malformed OpenSSH private key"). That was the CI flake. We take the raw
// key from node:crypto and write the OpenSSH container ourselves (PROTOCOL.key in OpenSSH).

import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { HarnessError } from '../errors.js';

/** An ed25519 pair in the formats ssh2 and OpenSSH tools read. */
export interface Ed25519Pair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` text, unencrypted. */
  readonly privateKey: string;
  /** The authorized_keys line: `ssh-ed25519 AAAA... comment`. */
  readonly publicKey: string;
  /** The SSH wire blob of the public key (what a host key verifier is handed). */
  readonly publicBlob: Buffer;
}

/** The run's client key pair. */
export interface RunKeys extends Ed25519Pair {
  /** `rh.key=<base64 of the authorized_keys line>`: one kernel command line word, no spaces. */
  readonly cmdlineWord: string;
}

/** DER prefix of a PKCS#8 ed25519 private key (RFC 8410): the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER prefix of an SPKI ed25519 public key (RFC 8410): the 32-byte key follows. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_TYPE = 'ssh-ed25519';

/** Makes the run's ed25519 key pair (well under a millisecond). */
export function generateRunKeys(comment = 'ramoops-harness'): RunKeys {
  const pair = ed25519Pair(comment);
  return { ...pair, cmdlineWord: keyCmdlineWord(pair.publicKey) };
}

/**
 * An ed25519 pair: random, or from a 32-byte seed (the private scalar's seed, as RFC 8032
 * names it), so tests can pin keys with awkward bytes.
 */
export function ed25519Pair(comment = 'ramoops-harness', seed?: Uint8Array): Ed25519Pair {
  if (/\s/.test(comment)) throw new HarnessError('ssh', `key comment must not contain whitespace: ${JSON.stringify(comment)}`);
  const { d, x } = seed === undefined ? randomRaw() : rawFromSeed(seed);
  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(x)]);
  return {
    privateKey: openSshPrivateKey(d, x, publicBlob, comment),
    publicKey: `${KEY_TYPE} ${publicBlob.toString('base64')} ${comment}`,
    publicBlob,
  };
}

/** The guest's SSH host key for one run, made on the host so the guest never waits for entropy. */
export interface GuestHostKey {
  /** The private key in dropbear's own file format (what `dropbear -r` reads). */
  readonly dropbearKey: Buffer;
  /** `ssh-ed25519 AAAA...`: what the host pins before boot. */
  readonly publicKey: string;
  /** The SSH wire blob of the public key (what a host key verifier is handed). */
  readonly publicBlob: Buffer;
  /** `rh.hostkey=<base64 of dropbearKey>`: a secret; reports mask it. */
  readonly cmdlineWord: string;
}

/**
 * A guest host key: dropbear's format for ed25519 is string "ssh-ed25519" then one string of
 * the 32-byte seed followed by the 32-byte public key (dropbear signkey.c / ed25519.c).
 */
export function generateGuestHostKey(seed?: Uint8Array): GuestHostKey {
  const d = Buffer.from(seed ?? randomBytes(32));
  const pair = ed25519Pair('rh-guest', d);
  const x = pair.publicBlob.subarray(4 + KEY_TYPE.length + 4);
  const dropbearKey = Buffer.concat([sshString(KEY_TYPE), sshString(Buffer.concat([d, x]))]);
  return {
    dropbearKey,
    publicKey: `${KEY_TYPE} ${pair.publicBlob.toString('base64')}`,
    publicBlob: pair.publicBlob,
    cmdlineWord: 'rh.hostkey=' + dropbearKey.toString('base64'),
  };
}

/**
 * `text` (a command line, a script's output) with both key words shortened: the run key's
 * public half says nothing useful to a reader, the host key word is the guest's private key.
 */
export function maskKeyWords(text: string): string {
  return text.replace(/\brh\.key=(?!<run key>)\S+/g, 'rh.key=<run key>').replace(/\brh\.hostkey=(?!<run host key>)\S+/g, 'rh.hostkey=<run host key>');
}

/** The kernel command line word the guest's init reads its authorized_keys line from. */
export function keyCmdlineWord(authorizedKeysLine: string): string {
  // base64 keeps the line's spaces from splitting it into several command line words.
  return 'rh.key=' + Buffer.from(authorizedKeysLine.trim() + '\n', 'utf8').toString('base64');
}

/**
 * The raw seed and public key of a fresh pair, taken from DER, never through a KeyObject's
 * JWK export: Node 20's ExportJWKEdKey allocates JS strings while it holds the key's mutex, and
 * when that allocation collects the KeyGenJob that made the same key, the job's destructor
 * takes the mutex again and the process deadlocks (seen in CI: a test worker frozen in
 * KeyGenJob::~KeyGenJob under KeyObjectHandle::ExportJWK after thousands of keys). With
 * encodings given, the job hands back bytes and no KeyObject shares its mutex.
 */
function randomRaw(): { readonly d: Buffer; readonly x: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  return { d: afterPrefix(privateKey, PKCS8_ED25519_PREFIX), x: afterPrefix(publicKey, SPKI_ED25519_PREFIX) };
}

/** A pinned seed's pair: the public half derived by node:crypto, exported as DER. */
function rawFromSeed(seed: Uint8Array): { readonly d: Buffer; readonly x: Buffer } {
  if (seed.length !== 32) throw new HarnessError('ssh', `an ed25519 seed is 32 bytes, got ${seed.length}`);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return { d: Buffer.from(seed), x: afterPrefix(spki, SPKI_ED25519_PREFIX) };
}

/** The 32 key bytes after a fixed RFC 8410 DER prefix. */
function afterPrefix(der: Buffer, prefix: Buffer): Buffer {
  if (der.length !== prefix.length + 32 || !der.subarray(0, prefix.length).equals(prefix)) {
    throw new HarnessError('ssh', `node:crypto gave an ed25519 key in an unexpected DER form (${der.length} bytes)`);
  }
  return Buffer.from(der.subarray(prefix.length));
}

/** openssh-key-v1, cipher and KDF "none": the layout of OpenSSH's PROTOCOL.key. */
function openSshPrivateKey(seed: Buffer, pub: Buffer, publicBlob: Buffer, comment: string): string {
  const check = randomBytes(4);
  const unpadded = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(pub),
    // OpenSSH stores the 64-byte "secret key" of ref10: seed then public key.
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Padded with 1, 2, 3, ... to the cipher's block size (8 for "none").
  const pad = Buffer.from(Array.from({ length: (8 - (unpadded.length % 8)) % 8 }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(Buffer.alloc(0)),
    u32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([unpadded, pad])),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function sshString(v: string | Buffer): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([u32(b.length), b]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
