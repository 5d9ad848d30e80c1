// The host port QEMU bound for a user-mode network forward. We ask QEMU to pick it
// (hostfwd=tcp:127.0.0.1:0-:22) and read it back from `info usernet`: a port we probed free
// ourselves could be taken by anyone before QEMU bound it.

import { HarnessError } from '../errors.js';

/**
 * The host port of the TCP HOST_FORWARD to `guestPort`, from `info usernet` text (QEMU 7.2):
 *   Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ
 *   TCP[HOST_FORWARD]   3       127.0.0.1 39535       10.0.2.15    22     0     0
 * Undefined when there is no such forward.
 */
export function hostForwardPort(infoUsernet: string, guestPort: number): number | undefined {
  for (const line of infoUsernet.split(/\r?\n/)) {
    const m = /^\s*TCP\[HOST_FORWARD\]\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)\s/.exec(line);
    if (m?.[1] !== undefined && Number(m[2]) === guestPort) {
      const port = Number(m[1]);
      if (port >= 1 && port <= 65535) return port;
    }
  }
  return undefined;
}

/** Like hostForwardPort, but a missing forward is QEMU not doing what its command line asked. */
export function requireHostForwardPort(infoUsernet: string, guestPort: number): number {
  const port = hostForwardPort(infoUsernet, guestPort);
  if (port === undefined) {
    throw new HarnessError('qemu', `QEMU reports no host forward to guest port ${guestPort} in 'info usernet':\n${infoUsernet.trim()}`);
  }
  return port;
}
