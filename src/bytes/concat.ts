// Joining byte chunks (decoder output pieces, record plus ECC notice, a harvested group).

/** The chunks one after the other in a new array (absent chunks skipped). */
export function concatBytes(chunks: readonly (Uint8Array | undefined)[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c?.length ?? 0;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    if (c === undefined) continue;
    out.set(c, o);
    o += c.length;
  }
  return out;
}
