// A TCP port on 127.0.0.1 that is certainly closed for as long as a test needs it. Picking a
// free port and closing it (the old freePort) leaves a window in which another process on this
// shared machine (QEMU's port-0 forwards, other tests) can take it. Instead a child holds a
// socket BOUND to the port but never listening: a connect gets a reset (ECONNREFUSED) exactly as
// for a closed port, and since the socket has no SO_REUSEADDR no one else can bind the port
// until release(). Node cannot bind a TCP socket without listening, hence python3 (a
// prerequisite of `make setup`).
import { spawn } from 'node:child_process';

const HOLDER = [
  'import socket, sys',
  's = socket.socket(socket.AF_INET, socket.SOCK_STREAM)',
  "s.bind(('127.0.0.1', 0))",
  'print(s.getsockname()[1], flush=True)',
  'sys.stdin.read()',
].join('\n');

/** A closed port held until release() (or until this process exits: the child reads our stdin). */
export interface ClosedPort {
  readonly port: number;
  release(): Promise<void>;
}

export function closedPort(): Promise<ClosedPort> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', HOLDER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.once('error', reject);
    let text = '';
    child.stdout.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      const port = Number(text.trim());
      if (!text.includes('\n') || !(port > 0)) return;
      resolve({
        port,
        release: async () => {
          child.stdin.end();
          await exited;
        },
      });
    });
    void exited.then(() => reject(new Error(`the port holder exited before naming a port (${text.trim()})`)));
  });
}
