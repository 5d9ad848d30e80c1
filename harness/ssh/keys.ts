// Per-run SSH credentials. A fresh ed25519 pair per run means no key on disk to protect and
// nothing a previous run left in a guest image can log in: the public half travels to the
// guest on its kernel command line (rh.key=), the private half never leaves this process.

import ssh2 from 'ssh2';
import { HarnessError } from '../errors.js';

/** The run's client key pair. */
export interface RunKeys {
  /** OpenSSH-format private key, as ssh2's connect() takes it. */
  readonly privateKey: string;
  /** The authorized_keys line: `ssh-ed25519 AAAA... comment`. */
  readonly publicKey: string;
  /** `rh.key=<base64 of the authorized_keys line>`: one kernel command line word, no spaces. */
  readonly cmdlineWord: string;
}

/** Makes the run's ed25519 key pair (a few milliseconds). */
export function generateRunKeys(comment = 'ramoops-harness'): RunKeys {
  if (/\s/.test(comment)) throw new HarnessError('ssh', `key comment must not contain whitespace: ${JSON.stringify(comment)}`);
  // ssh2's generator writes a private key its own parser rejects ("Malformed OpenSSH private
  // key") about once in 300 pairs, which failed a run's every login: keep only a pair it reads.
  for (let attempt = 1; attempt <= 20; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (ssh2.utils.parseKey(pair.private) instanceof Error || ssh2.utils.parseKey(pair.public) instanceof Error) continue;
    const publicKey = pair.public.trim();
    return { privateKey: pair.private, publicKey, cmdlineWord: keyCmdlineWord(publicKey) };
  }
  throw new HarnessError('ssh', 'could not make an ed25519 key pair that ssh2 parses back (20 attempts)');
}

/** The kernel command line word the guest's init reads its authorized_keys line from. */
export function keyCmdlineWord(authorizedKeysLine: string): string {
  // base64 keeps the line's spaces from splitting it into several command line words.
  return 'rh.key=' + Buffer.from(authorizedKeysLine.trim() + '\n', 'utf8').toString('base64');
}
