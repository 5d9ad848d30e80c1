// The decode step for console and pmsg: one zone each, its old log as the file.
import { eccNotice } from '../zone/read.js';
import { concat, type Decoding } from './context.js';

export function decodeSingle(ctx: Decoding, kind: 'console' | 'pmsg'): void {
  if (ctx.stopped) return;
  const z = ctx.layout.zones.find((zz) => zz.kind === kind);
  if (!z) return;
  const r = ctx.reads.get(z);
  if (!r || r.status !== 'ok') return;
  const notice = eccNotice(r.ecc, ctx.prefix);
  ctx.files.push({
    name: `${kind}-ramoops-0`,
    type: kind,
    id: 0,
    bytes: concat(r.oldLog, notice),
    size: r.oldLog.length + notice.length,
    mtime: undefined,
    zones: [{ index: 0, address: z.address }],
    ecc: r.ecc,
    compression: undefined,
    notes: [],
  });
}
