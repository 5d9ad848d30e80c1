// The run's key pair: every pair handed out must be one ssh2 can log in with. ssh2's own
// generator emits an unparsable private key about once in 300 pairs (seen as a matrix cell
// failing every login with "Malformed OpenSSH private key").
import test from 'ava';
import ssh2 from 'ssh2';
import { generateRunKeys } from '../../../harness/ssh/keys.js';

test('3000 run keys in a row all parse (private and public) and carry the comment', (t) => {
  for (let i = 0; i < 3000; i++) {
    const k = generateRunKeys();
    const priv = ssh2.utils.parseKey(k.privateKey);
    if (priv instanceof Error) return t.fail(`pair ${i}: ${priv.message}`);
    const pub = ssh2.utils.parseKey(k.publicKey);
    if (pub instanceof Error) return t.fail(`pair ${i}: public: ${pub.message}`);
    if (!k.publicKey.startsWith('ssh-ed25519 ') || !k.publicKey.endsWith(' ramoops-harness')) return t.fail(k.publicKey);
  }
  t.pass();
});

test('the command line word is one word holding the authorized_keys line', (t) => {
  const k = generateRunKeys();
  t.false(/\s/.test(k.cmdlineWord));
  t.is(Buffer.from(k.cmdlineWord.slice('rh.key='.length), 'base64').toString('utf8'), `${k.publicKey}\n`);
  t.throws(() => generateRunKeys('two words'));
});
