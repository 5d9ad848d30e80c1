// A small JSON Schema (draft-07) validator for exactly the keywords the KCIDB I/O schema uses:
// type, properties, required, additionalProperties, items, enum, const, pattern, maxLength,
// minimum, maximum, format (date-time, uri, email) and local $ref. A keyword it does not know
// is an error, never skipped: a validator that ignores what it cannot check passes everything.
type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };
type Schema = { readonly [k: string]: Json };

/** Keywords that only describe; draft-07 says they assert nothing. */
const ANNOTATIONS = new Set(['title', 'description', 'examples', '$defs', 'definitions', '$schema', '$id', '$comment', 'default']);
const CHECKED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'pattern',
  'maxLength',
  'minimum',
  'maximum',
  'format',
  '$ref',
]);

export class UnsupportedSchemaError extends Error {
  override readonly name = 'UnsupportedSchemaError';
}

function isObject(v: Json): v is { readonly [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeOk(t: string, v: Json): boolean {
  switch (t) {
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    default:
      throw new UnsupportedSchemaError(`type ${t}`);
  }
}

/** RFC 3339 section 5.6 date-time, with the calendar checked (no 2026-02-30). */
export function isRfc3339(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(s);
  if (m === null) return false;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const offOk = m[9] === undefined || (Number(m[9]) < 24 && Number(m[10]) < 60);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h < 24 && mi < 60 && se <= 60 && offOk;
}

function formatOk(f: string, s: string): boolean {
  switch (f) {
    case 'date-time':
      return isRfc3339(s);
    // An absolute URI (RFC 3986: a scheme, then the rest): what WHATWG's parser accepts with a scheme.
    case 'uri':
      return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(s) && URL.canParse(s);
    case 'email':
      return /^[^\s@]+@[^\s@]+$/.test(s);
    default:
      throw new UnsupportedSchemaError(`format ${f}`);
  }
}

function resolveRef(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new UnsupportedSchemaError(`$ref ${ref} (only local JSON pointers)`);
  let node: Json = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) || !(key in node)) throw new UnsupportedSchemaError(`$ref ${ref} points nowhere`);
    node = node[key]!;
  }
  if (!isObject(node)) throw new UnsupportedSchemaError(`$ref ${ref} is not a schema`);
  return node;
}

/** Every violation of `schema` by `value`, as `path: what` lines; [] when it validates. */
export function validate(schema: object, value: unknown): string[] {
  const root = JSON.parse(JSON.stringify(schema)) as Schema;
  const errors: string[] = [];
  const walk = (s: Schema, v: Json, at: string): void => {
    for (const k of Object.keys(s)) if (!ANNOTATIONS.has(k) && !CHECKED.has(k)) throw new UnsupportedSchemaError(`keyword ${k} at ${at}`);
    if (typeof s['$ref'] === 'string') walk(resolveRef(root, s['$ref']), v, at);
    const t = s['type'];
    if (t !== undefined) {
      const types = Array.isArray(t) ? t : [t];
      if (!types.some((x) => typeOk(String(x), v))) {
        errors.push(`${at}: expected ${types.join('|')}, got ${JSON.stringify(v)?.slice(0, 60)}`);
        return;
      }
    }
    if (Array.isArray(s['enum']) && !s['enum'].some((e) => JSON.stringify(e) === JSON.stringify(v)))
      errors.push(`${at}: ${JSON.stringify(v)} not in ${JSON.stringify(s['enum'])}`);
    if ('const' in s && JSON.stringify(s['const']) !== JSON.stringify(v)) errors.push(`${at}: ${JSON.stringify(v)} is not ${JSON.stringify(s['const'])}`);
    if (typeof v === 'string') {
      if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(v))
        errors.push(`${at}: ${JSON.stringify(v.slice(0, 60))} does not match ${s['pattern']}`);
      if (typeof s['maxLength'] === 'number' && [...v].length > s['maxLength']) errors.push(`${at}: ${[...v].length} characters, at most ${s['maxLength']}`);
      if (typeof s['format'] === 'string' && !formatOk(s['format'], v)) errors.push(`${at}: ${JSON.stringify(v.slice(0, 60))} is not a ${s['format']}`);
    }
    if (typeof v === 'number') {
      if (typeof s['minimum'] === 'number' && v < s['minimum']) errors.push(`${at}: ${v} < ${s['minimum']}`);
      if (typeof s['maximum'] === 'number' && v > s['maximum']) errors.push(`${at}: ${v} > ${s['maximum']}`);
    }
    if (Array.isArray(v) && isObject(s['items'] ?? null)) (v as readonly Json[]).forEach((x, i) => walk(s['items'] as Schema, x, `${at}[${i}]`));
    if (isObject(v)) {
      const props = isObject(s['properties'] ?? null) ? (s['properties'] as Schema) : {};
      if (Array.isArray(s['required'])) for (const r of s['required']) if (!(String(r) in v)) errors.push(`${at}: missing ${String(r)}`);
      for (const [k, x] of Object.entries(v)) {
        const p = props[k];
        if (isObject(p ?? null)) walk(p as Schema, x, `${at}.${k}`);
        else if (s['additionalProperties'] === false) errors.push(`${at}: unexpected property ${k}`);
        else if (isObject(s['additionalProperties'] ?? null)) walk(s['additionalProperties'] as Schema, x, `${at}.${k}`);
      }
    }
  };
  walk(root, JSON.parse(JSON.stringify(value)) as Json, '$');
  return errors;
}
