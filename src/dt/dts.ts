// A parser for the device-tree source subset a ramoops node and its surroundings need:
// /dts-v1/, /memreserve/, nodes (repeated definitions merge as in dtc), labels, `&label { }`
// and `&{/path} { }` extensions, properties with strings, <cells> (integers, character
// literals, parenthesised C expressions, &label / &{/path} phandle references), /bits/ N,
// [bytes], path references, /delete-node/ and /delete-property/. Phandles are assigned the way
// dtc assigns them (lowest free number, in tree order of the references), so a .dts and the
// .dtb dtc makes from it give equal trees. Not supported, with a clear error: the C
// preprocessor (#include, #define: run `cpp -nostdinc -undef -x assembler-with-cpp` first),
// /include/, /plugin/ overlays.
import { ConfigError, hex } from '../errors.js';
import { cellBytes, type DeviceTree, type DtNode, type MemReserve } from './tree.js';

/** A value part that needs the whole tree: a phandle cell or a path string. */
type Segment = { readonly bytes: Uint8Array } | { readonly phandleOf: Ref; readonly at: Pos } | { readonly pathOf: Ref; readonly at: Pos };
type Ref = { readonly label: string } | { readonly path: string };

interface Pos {
  readonly line: number;
  readonly col: number;
}

interface MProp {
  name: string;
  value: Segment[];
}

interface MNode {
  name: string;
  props: MProp[];
  children: MNode[];
  labels: string[];
  parent: MNode | undefined;
}

const NAME_CHARS = /[A-Za-z0-9,._+*#?@-]/;
const LABEL_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PREPROCESSOR = /^[ \t]*#[ \t]*(include|define|undef|if|ifdef|ifndef|elif|else|endif|error|pragma|line)\b/m;
const U64 = (1n << 64n) - 1n;

/** Parse .dts text into a tree; throws ConfigError('dts:LINE:COL') for anything outside the subset or malformed. */
export function parseDts(text: string, fileName = 'dts'): DeviceTree {
  return new DtsParser(text, fileName).parseFile();
}

class DtsParser {
  private pos = 0;
  private readonly root: MNode = { name: '', props: [], children: [], labels: [], parent: undefined };
  private readonly memReserve: MemReserve[] = [];

  constructor(
    private readonly src: string,
    private readonly fileName: string,
  ) {}

  parseFile(): DeviceTree {
    const pp = PREPROCESSOR.exec(this.src);
    if (pp) {
      this.pos = pp.index + (pp[0].length - pp[0].trimStart().length);
      throw this.error(
        `C preprocessor directive "#${pp[1] ?? ''}" is not supported: run the file through \`cpp -nostdinc -undef -x assembler-with-cpp\` (as the kernel's dtc rule does) and pass the result`,
      );
    }
    this.ws();
    if (!this.eat('/dts-v1/')) throw this.error('expected /dts-v1/; at the start (version 0 sources are not supported)');
    this.expect(';');
    for (;;) {
      this.ws();
      if (this.atEnd()) break;
      if (this.eat('/memreserve/')) {
        const address = this.integerToken();
        const size = this.integerToken();
        this.expect(';');
        this.memReserve.push({ address, size });
      } else if (this.eat('/dts-v1/')) {
        this.expect(';');
      } else if (this.eat('/include/')) {
        throw this.error('/include/ is not supported: pass one self-contained file (e.g. `dtc -I dts -O dts` flattens includes)');
      } else if (this.eat('/plugin/')) {
        throw this.error('/plugin/ (overlays) is not supported: apply the overlay first (`fdtoverlay`) and pass the result');
      } else if (this.eat('/delete-node/')) {
        this.ws();
        const target = this.resolveRef(this.refToken());
        this.expect(';');
        this.deleteNode(target);
      } else if (this.peek() === '/') {
        this.pos++;
        this.body(this.root);
        this.expect(';');
      } else if (this.peek() === '&') {
        const target = this.resolveRef(this.refToken());
        this.body(target);
        this.expect(';');
      } else {
        // A label before the root (`lbl: / { }`) is allowed by dtc.
        const save = this.pos;
        const word = this.nameToken();
        this.ws();
        if (LABEL_RE.test(word) && this.peek() === ':') {
          this.pos++;
          this.ws();
          if (this.peek() !== '/') throw this.error('expected / after a label at top level');
          this.pos++;
          this.addLabel(this.root, word);
          this.body(this.root);
          this.expect(';');
        } else {
          this.pos = save;
          throw this.error(`unexpected "${this.src.slice(this.pos, this.pos + 20).split('\n')[0] ?? ''}" at top level`);
        }
      }
    }
    this.assignExplicitPhandles();
    const root = this.freeze(this.root);
    return { root, memReserve: this.memReserve, bootCpuidPhys: 0 };
  }

  // ---- structure ----

  /** `{ ... }` applied to `node`: definitions in one body must not repeat a property. */
  private body(node: MNode): void {
    this.expect('{');
    const seen = new Set<string>();
    let hadChild = false;
    for (;;) {
      this.ws();
      if (this.peek() === '}') {
        this.pos++;
        return;
      }
      if (this.atEnd()) throw this.error('unterminated node: missing }');
      if (this.eat('/delete-property/')) {
        this.ws();
        const name = this.nameToken();
        this.expect(';');
        node.props = node.props.filter((p) => p.name !== name);
        seen.delete(name);
        continue;
      }
      if (this.eat('/delete-node/')) {
        this.ws();
        if (this.peek() === '&') {
          const target = this.resolveRef(this.refToken());
          this.deleteNode(target);
        } else {
          const name = this.nameToken();
          node.children = node.children.filter((c) => c.name !== name);
        }
        this.expect(';');
        continue;
      }
      if (this.eat('/omit-if-no-ref/')) throw this.error('/omit-if-no-ref/ is not supported');
      const labels: string[] = [];
      let name = this.nameToken();
      for (;;) {
        this.ws();
        if (this.peek() === ':' && LABEL_RE.test(name)) {
          this.pos++;
          labels.push(name);
          this.ws();
          name = this.nameToken();
        } else break;
      }
      this.ws();
      const c = this.peek();
      if (c === '{') {
        let child = node.children.find((ch) => ch.name === name);
        if (!child) {
          child = { name, props: [], children: [], labels: [], parent: node };
          node.children.push(child);
        }
        for (const l of labels) this.addLabel(child, l);
        this.body(child);
        this.expect(';');
        hadChild = true;
      } else if (c === '=' || c === ';') {
        if (name.includes('@')) throw this.error(`"${name}" looks like a node name but is followed by ${c}`);
        if (hadChild) throw this.error(`property "${name}" after a subnode: properties must precede subnodes (as dtc requires)`);
        if (seen.has(name)) throw this.error(`duplicate property "${name}" in one node definition`);
        seen.add(name);
        let value: Segment[] = [];
        if (c === '=') {
          this.pos++;
          value = this.propertyValue();
        }
        this.expect(';');
        const old = node.props.find((p) => p.name === name);
        // dtc replaces a redefined property in place, keeping its position.
        if (old) old.value = value;
        else node.props.push({ name, value });
      } else {
        throw this.error(`expected =, ; or { after "${name}"`);
      }
    }
  }

  private propertyValue(): Segment[] {
    const out: Segment[] = [];
    for (;;) {
      this.ws();
      this.skipValueLabels();
      const c = this.peek();
      if (c === '"') out.push({ bytes: this.stringLiteral() });
      else if (c === '<') out.push(...this.cells(32));
      else if (c === '[') out.push({ bytes: this.byteString() });
      else if (c === '&') {
        const at = this.here();
        out.push({ pathOf: this.refToken(), at });
      } else if (this.eat('/bits/')) {
        this.ws();
        const bits = Number(this.integerToken());
        if (![8, 16, 32, 64].includes(bits)) throw this.error(`/bits/ ${bits}: only 8, 16, 32 and 64 are valid`);
        this.ws();
        out.push(...this.cells(bits));
      } else throw this.error('expected a property value: "string", <cells>, [bytes] or &reference');
      this.ws();
      this.skipValueLabels();
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      return out;
    }
  }

  /** Labels inside values (`reg = lbl: <1>`) only matter for overlays; accept and drop them. */
  private skipValueLabels(): void {
    for (;;) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]*:/.exec(this.src.slice(this.pos, this.pos + 80));
      if (!m || this.src[this.pos + m[0].length] === ':') return;
      this.pos += m[0].length;
      this.ws();
    }
  }

  private cells(bits: number): Segment[] {
    this.expect('<');
    const out: Segment[] = [];
    const width = bits / 8;
    const max = (1n << BigInt(bits)) - 1n;
    let pending: number[] = [];
    const flush = (): void => {
      if (pending.length > 0) out.push({ bytes: Uint8Array.from(pending) });
      pending = [];
    };
    for (;;) {
      this.ws();
      this.skipValueLabels();
      const c = this.peek();
      if (c === '>') {
        this.pos++;
        flush();
        return out;
      }
      if (this.atEnd()) throw this.error('unterminated <cells>: missing >');
      if (c === '&') {
        if (bits !== 32) throw this.error('phandle references are only allowed in 32-bit cells');
        const at = this.here();
        const ref = this.refToken();
        flush();
        out.push({ phandleOf: ref, at });
        continue;
      }
      const at = this.here();
      let v = c === '(' ? this.parenExpr() : this.primary();
      // dtc accepts a value that is a sign-extended negative number of this width and truncates it.
      if (v > max && (v | max) === U64) v &= max;
      if (v > max) throw this.errorAt(at, `value ${hex(v)} does not fit in ${bits} bits`);
      for (let i = width - 1; i >= 0; i--) pending.push(Number((v >> BigInt(i * 8)) & 0xffn));
    }
  }

  private byteString(): Uint8Array {
    this.expect('[');
    const out: number[] = [];
    for (;;) {
      this.ws();
      if (this.peek() === ']') {
        this.pos++;
        return Uint8Array.from(out);
      }
      const m = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.pos, this.pos + 2));
      if (!m) throw this.error('expected two hex digits in [bytes]');
      out.push(parseInt(m[0], 16));
      this.pos += 2;
    }
  }

  private stringLiteral(): Uint8Array {
    this.expect('"');
    const out: number[] = [];
    for (;;) {
      if (this.atEnd()) throw this.error('unterminated string');
      const c = this.src[this.pos++] ?? '';
      if (c === '"') break;
      if (c === '\n') throw this.error('newline in string');
      if (c === '\\') out.push(this.escape());
      else for (const b of new TextEncoder().encode(c)) out.push(b);
    }
    out.push(0);
    return Uint8Array.from(out);
  }

  private escape(): number {
    const c = this.src[this.pos++] ?? '';
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, v: 11, f: 12, '\\': 92, '"': 34, "'": 39 };
    const s = simple[c];
    if (s !== undefined) return s;
    if (c === 'x') {
      const m = /^[0-9a-fA-F]{1,2}/.exec(this.src.slice(this.pos, this.pos + 2));
      if (!m) throw this.error('\\x needs hex digits');
      this.pos += m[0].length;
      return parseInt(m[0], 16);
    }
    if (/[0-7]/.test(c)) {
      const m = /^[0-7]{0,2}/.exec(this.src.slice(this.pos, this.pos + 2)) ?? [''];
      this.pos += m[0].length;
      return parseInt(c + m[0], 8) & 0xff;
    }
    throw this.error(`unknown escape \\${c}`);
  }

  // ---- integers and expressions (dtc: C semantics on 64-bit unsigned values) ----

  private integerToken(): bigint {
    this.ws();
    return this.peek() === '(' ? this.parenExpr() : this.primary();
  }

  private parenExpr(): bigint {
    this.expect('(');
    const v = this.ternary();
    this.expect(')');
    return v;
  }

  private ternary(): bigint {
    const cond = this.binary(0);
    this.ws();
    if (this.peek() !== '?') return cond;
    this.pos++;
    const a = this.ternary();
    this.expect(':');
    const b = this.ternary();
    return cond !== 0n ? a : b;
  }

  private static readonly LEVELS: readonly (readonly string[])[] = [
    ['||'],
    ['&&'],
    ['|'],
    ['^'],
    ['&'],
    ['==', '!='],
    ['<=', '>=', '<', '>'],
    ['<<', '>>'],
    ['+', '-'],
    ['*', '/', '%'],
  ];

  private binary(level: number): bigint {
    const ops = DtsParser.LEVELS[level];
    if (!ops) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      this.ws();
      const rest = this.src.slice(this.pos, this.pos + 2);
      // `|` must not take the first half of `||`, nor `&` of `&&`, nor `<` of `<<`.
      const op = ops.find((o) => rest.startsWith(o) && !(o.length === 1 && ['||', '&&', '<<', '>>'].includes(rest) && rest[1] === o));
      if (!op) return left;
      this.pos += op.length;
      const right = this.binary(level + 1);
      left = this.apply(op, left, right);
    }
  }

  private apply(op: string, a: bigint, b: bigint): bigint {
    const t = (x: boolean): bigint => (x ? 1n : 0n);
    switch (op) {
      case '||':
        return t(a !== 0n || b !== 0n);
      case '&&':
        return t(a !== 0n && b !== 0n);
      case '|':
        return a | b;
      case '^':
        return a ^ b;
      case '&':
        return a & b;
      case '==':
        return t(a === b);
      case '!=':
        return t(a !== b);
      case '<':
        return t(a < b);
      case '>':
        return t(a > b);
      case '<=':
        return t(a <= b);
      case '>=':
        return t(a >= b);
      case '<<':
        return (a << (b & 63n)) & U64;
      case '>>':
        return a >> (b & 63n);
      case '+':
        return (a + b) & U64;
      case '-':
        return (a - b) & U64;
      case '*':
        return (a * b) & U64;
      case '/':
      case '%':
        if (b === 0n) throw this.error('division by zero in an expression');
        return op === '/' ? a / b : a % b;
      default:
        throw this.error(`operator ${op}`);
    }
  }

  private unary(): bigint {
    this.ws();
    const c = this.peek();
    if (c === '-') {
      this.pos++;
      return -this.unary() & U64;
    }
    if (c === '~') {
      this.pos++;
      return ~this.unary() & U64;
    }
    if (c === '!') {
      this.pos++;
      return this.unary() === 0n ? 1n : 0n;
    }
    if (c === '(') return this.parenExpr();
    return this.primary();
  }

  /** An integer literal (decimal, 0x hex, 0 octal; U/L suffixes) or a character literal. */
  private primary(): bigint {
    this.ws();
    if (this.peek() === "'") {
      this.pos++;
      const ch = this.src[this.pos++] ?? '';
      const v = ch === '\\' ? this.escape() : ch.charCodeAt(0);
      this.expect("'");
      return BigInt(v);
    }
    const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uU]?[lL]{0,2}|[lL]{1,2}[uU]?)(?![A-Za-z0-9_])/.exec(this.src.slice(this.pos, this.pos + 40));
    if (!m || m[1] === undefined) throw this.error('expected an integer');
    this.pos += m[0].length;
    const d = m[1];
    const v = /^0[xX]/.test(d) ? BigInt(d) : d.length > 1 && d.startsWith('0') ? BigInt('0o' + d.slice(1)) : BigInt(d);
    if (v > U64) throw this.error(`integer ${d} does not fit in 64 bits`);
    return v;
  }

  // ---- references, labels, phandles ----

  private refToken(): Ref {
    this.expect('&');
    if (this.peek() === '{') {
      this.pos++;
      const end = this.src.indexOf('}', this.pos);
      if (end < 0) throw this.error('unterminated &{/path}');
      const path = this.src.slice(this.pos, end).trim();
      this.pos = end + 1;
      return { path };
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos, this.pos + 200));
    if (!m) throw this.error('expected a label after &');
    this.pos += m[0].length;
    return { label: m[0] };
  }

  private resolveRef(ref: Ref, at: Pos = this.here()): MNode {
    const found = this.lookup(ref);
    if (!found) throw this.errorAt(at, 'label' in ref ? `reference to undefined label "${ref.label}"` : `reference to missing node "${ref.path}"`);
    return found;
  }

  private lookup(ref: Ref): MNode | undefined {
    if ('label' in ref) {
      const walk = (n: MNode): MNode | undefined => {
        if (n.labels.includes(ref.label)) return n;
        for (const c of n.children) {
          const f = walk(c);
          if (f) return f;
        }
        return undefined;
      };
      return walk(this.root);
    }
    let n: MNode | undefined = this.root;
    for (const part of ref.path.split('/').filter((s) => s !== '')) {
      // dtc matches a path component without unit address against the base name too.
      n = n?.children.find((c) => c.name === part) ?? n?.children.find((c) => c.name.split('@')[0] === part);
    }
    return n;
  }

  private addLabel(node: MNode, label: string): void {
    const other = this.lookup({ label });
    if (other && other !== node) throw this.error(`label "${label}" is already used by another node`);
    if (!node.labels.includes(label)) node.labels.push(label);
  }

  private deleteNode(target: MNode): void {
    if (!target.parent) throw this.error('cannot delete the root node');
    target.parent.children = target.parent.children.filter((c) => c !== target);
  }

  private pathOf(n: MNode): string {
    const parts: string[] = [];
    for (let x: MNode | undefined = n; x && x.parent; x = x.parent) parts.unshift(x.name);
    return '/' + parts.join('/');
  }

  private readonly phandles = new Map<MNode, number>();

  /** Explicit `phandle = <N>` properties claim their numbers before any is assigned (dtc's check order). */
  private assignExplicitPhandles(): void {
    const walk = (n: MNode): void => {
      const p = n.props.find((q) => q.name === 'phandle' || q.name === 'linux,phandle');
      const seg = p?.value.length === 1 ? p.value[0] : undefined;
      if (seg && 'bytes' in seg && seg.bytes.length === 4) {
        this.phandles.set(n, new DataView(seg.bytes.buffer, seg.bytes.byteOffset).getUint32(0, false));
      }
      n.children.forEach(walk);
    };
    walk(this.root);
  }

  private phandleFor(n: MNode): number {
    const have = this.phandles.get(n);
    if (have !== undefined) return have;
    const used = new Set(this.phandles.values());
    let next = 1;
    while (used.has(next)) next++;
    this.phandles.set(n, next);
    n.props.push({ name: 'phandle', value: [{ bytes: cellBytes([next]) }] });
    return next;
  }

  /** Resolve references in tree order (where dtc assigns phandles) and turn the tree immutable. */
  private freeze(root: MNode): DtNode {
    const resolveProps = (n: MNode): void => {
      // Iterate by index: phandleFor may append a phandle property to this very node.
      for (let i = 0; i < n.props.length; i++) {
        const p = n.props[i];
        if (!p) continue;
        p.value = p.value.map((s): Segment => {
          if ('phandleOf' in s) return { bytes: cellBytes([this.phandleFor(this.resolveRef(s.phandleOf, s.at))]) };
          if ('pathOf' in s) return { bytes: new TextEncoder().encode(this.pathOf(this.resolveRef(s.pathOf, s.at)) + '\0') };
          return s;
        });
      }
      n.children.forEach(resolveProps);
    };
    resolveProps(root);
    const toNode = (n: MNode): DtNode => ({
      name: n.name,
      properties: n.props.map((p) => ({ name: p.name, value: concat(p.value) })),
      children: n.children.map(toNode),
    });
    return toNode(root);
  }

  // ---- lexing ----

  private nameToken(): string {
    const start = this.pos;
    while (!this.atEnd() && NAME_CHARS.test(this.src[this.pos] ?? '')) this.pos++;
    if (this.pos === start) throw this.error('expected a node or property name');
    return this.src.slice(start, this.pos);
  }

  /** Skip whitespace and comments. */
  private ws(): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else if (this.src.startsWith('//', this.pos)) {
        const nl = this.src.indexOf('\n', this.pos);
        this.pos = nl < 0 ? this.src.length : nl + 1;
      } else if (this.src.startsWith('/*', this.pos)) {
        const end = this.src.indexOf('*/', this.pos + 2);
        if (end < 0) throw this.error('unterminated comment');
        this.pos = end + 2;
      } else return;
    }
  }

  private eat(word: string): boolean {
    this.ws();
    if (!this.src.startsWith(word, this.pos)) return false;
    this.pos += word.length;
    return true;
  }

  private expect(ch: string): void {
    if (!this.eat(ch)) throw this.error(`expected "${ch}"`);
  }

  private peek(): string {
    return this.src[this.pos] ?? '';
  }

  private atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  private here(): Pos {
    const before = this.src.slice(0, this.pos);
    const line = before.split('\n').length;
    return { line, col: this.pos - before.lastIndexOf('\n') };
  }

  private error(message: string): ConfigError {
    return this.errorAt(this.here(), message);
  }

  private errorAt(at: Pos, message: string): ConfigError {
    return new ConfigError(`${this.fileName}:${at.line}:${at.col}`, message);
  }
}

function concat(parts: readonly Segment[]): Uint8Array {
  const bytes = parts.map((s) => ('bytes' in s ? s.bytes : new Uint8Array(0)));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
