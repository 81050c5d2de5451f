/**
 * A restricted Python unpickler: it rebuilds data (dicts, lists, tuples, numbers, strings, bytes, None, booleans)
 * and NEVER executes anything. The opcodes are those of protocols 0–5 that data pickles use (see CPython's
 * Lib/pickletools.py for their definitions); the ones PyTorch's protocol-2 `torch.save` emits are all here:
 * PROTO, FRAME, MARK, STOP, EMPTY_DICT / EMPTY_LIST / EMPTY_TUPLE / EMPTY_SET, DICT, LIST, TUPLE, TUPLE1–3,
 * BINUNICODE(8) / SHORT_BINUNICODE / UNICODE, BINBYTES(8) / SHORT_BINBYTES, BINSTRING / SHORT_BINSTRING,
 * BININT / BININT1 / BININT2 / INT, LONG1 / LONG4 / LONG, BINFLOAT / FLOAT, NEWTRUE / NEWFALSE, NONE,
 * GLOBAL / STACK_GLOBAL, REDUCE, NEWOBJ / NEWOBJ_EX, BUILD, BINPERSID / PERSID, SETITEM(S), APPEND(S), ADDITEMS,
 * FROZENSET, BINPUT / LONG_BINPUT / PUT, BINGET / LONG_BINGET / GET, MEMOIZE, POP / POP_MARK / DUP.
 * Any other opcode is an error naming it and its byte position.
 *
 * Globals (GLOBAL / STACK_GLOBAL) are looked up in a table of pure functions given by the caller (plus
 * `collections.OrderedDict`, `builtins.dict/list/tuple/set/frozenset` and `_codecs.encode`, which only build
 * data); every other global becomes an opaque `PyGlobal`, and calling it (REDUCE / NEWOBJ) gives an opaque
 * `PyObject` that records the call — nothing is imported or run. Values:
 *   dict, OrderedDict → Map (insertion order kept);  list → Array;  tuple → frozen Array;  set → Set;
 *   int → number (bigint beyond ±2^53);  float → number;  str → string;  bytes → Uint8Array;  None → null.
 */

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

/** A global the unpickler does not implement (`module.name`), kept as a value. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** The result of calling something opaque: the callable, its arguments and any BUILD state. Never evaluated. */
export class PyObject {
  state: unknown = undefined;
  constructor(
    readonly callable: unknown,
    readonly args: readonly unknown[],
  ) {}
  /** The opaque global this object comes from, if any. */
  get global(): PyGlobal | null {
    return this.callable instanceof PyGlobal ? this.callable : null;
  }
}

/** A global the caller implements: a pure function of its (already unpickled) arguments. */
export type GlobalImpl = (args: readonly unknown[]) => unknown;

export interface UnpickleOptions {
  /** Implementations of globals by `module.name`; anything else is opaque. */
  globals?: Readonly<Record<string, GlobalImpl>>;
  /** Resolves BINPERSID / PERSID ids (torch: storages). Without it a persistent id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Names the pickle in errors. */
  label?: string;
}

class Callable {
  constructor(
    readonly name: string,
    readonly impl: GlobalImpl,
  ) {}
}

const BUILTIN_GLOBALS: Record<string, GlobalImpl> = {
  'collections.OrderedDict': () => new Map(),
  'builtins.dict': () => new Map(),
  'builtins.list': (a) => (a.length ? [...(a[0] as Iterable<unknown>)] : []),
  'builtins.tuple': (a) => Object.freeze(a.length ? [...(a[0] as Iterable<unknown>)] : []),
  'builtins.set': (a) => new Set(a.length ? (a[0] as Iterable<unknown>) : []),
  'builtins.frozenset': (a) => new Set(a.length ? (a[0] as Iterable<unknown>) : []),
  // protocol-2 pickles of bytes: _codecs.encode(str, 'latin1')
  '_codecs.encode': (a) => {
    const s = String(a[0]);
    const enc = String(a[1] ?? 'utf-8').toLowerCase();
    if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
    return new TextEncoder().encode(s);
  },
};

const OP_NAMES: Record<number, string> = {};

const MARK = Symbol('mark');

const latin1 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
};

/** Little-endian two's-complement integer of `b` (LONG1 / LONG4). */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function textInt(s: string): number | bigint | boolean {
  const t = s.replace(/L$/, '').trim();
  if (t === '00') return false; // protocol 0 booleans
  if (t === '01') return true;
  const v = BigInt(t);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Unpickle `bytes`; throws PickleError naming the opcode and byte position on anything malformed. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  const label = options.label ?? 'pickle';
  const globals = { ...BUILTIN_GLOBALS, ...options.globals };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8');
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opPos = 0;
  let op = 0;

  const fail = (detail: string): never => {
    throw new PickleError(`${label}: ${detail} (opcode ${OP_NAMES[op] ?? `0x${op.toString(16)}`} at byte ${opPos})`);
  };
  const need = (n: number): void => {
    if (pos + n > bytes.length) fail(`truncated pickle: ${n} byte(s) needed, ${bytes.length - pos} left`);
  };
  const u8 = (): number => (need(1), bytes[pos++]!);
  const u16 = (): number => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const i32 = (): number => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const u32 = (): number => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} is beyond the pickle`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle: unterminated text argument');
    const s = latin1(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (!stack.length) fail('stack underflow');
    const v = stack.pop();
    if (v === MARK) fail('unexpected MARK on the stack');
    return v;
  };
  const top = (): unknown => {
    if (!stack.length) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) fail('no MARK to pop to');
    stack = prev!;
    return items;
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const q = `${module}.${name}`;
    const impl = globals[q];
    return impl ? new Callable(q, impl) : new PyGlobal(module, name);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!Array.isArray(args)) fail('call arguments are not a tuple');
    if (fn instanceof Callable) {
      try {
        return fn.impl(args as unknown[]);
      } catch (e) {
        if (e instanceof PickleError) throw e;
        return fail(`${fn.name}: ${(e as Error).message}`);
      }
    }
    return new PyObject(fn, args as unknown[]);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (items.length % 2) fail('odd number of items for a dict');
    if (target instanceof Map) {
      for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
    } else if (target instanceof PyObject) {
      // An opaque mapping (a dict subclass): keep the items with the object.
      const extra = ((target as unknown as { items?: Map<unknown, unknown> }).items ??= new Map());
      for (let i = 0; i < items.length; i += 2) extra.set(items[i], items[i + 1]);
    } else {
      fail('SETITEM(S) on something that is not a dict');
    }
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (Array.isArray(target) && !Object.isFrozen(target)) target.push(...items);
    else if (target instanceof PyObject) ((target as unknown as { list?: unknown[] }).list ??= []).push(...items);
    else fail('APPEND(S) on something that is not a list');
  };

  for (;;) {
    opPos = pos;
    op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol > 5');
        break;
      case 0x95: // FRAME
        need(8);
        pos += 8;
        break;
      case 0x2e: // STOP '.'
        if (stack.length !== 1 || metastack.length) fail(`STOP with ${stack.length} value(s) on the stack`);
        return stack[0];
      case 0x28: // MARK '('
        metastack.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT '}'
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST ']'
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE ')'
        stack.push(Object.freeze([]));
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x64: { // DICT 'd'
        const items = popMark();
        const m = new Map();
        setItems(m, items);
        stack.push(m);
        break;
      }
      case 0x6c: { // LIST 'l' (popMark replaces `stack`: take the items first)
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x74: { // TUPLE 't'
        const items = popMark();
        stack.push(Object.freeze(items));
        break;
      }
      case 0x91: { // FROZENSET
        const items = popMark();
        stack.push(new Set(items));
        break;
      }
      case 0x85: // TUPLE1
        stack.push(Object.freeze([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(Object.freeze([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(Object.freeze([pop(), b, c]));
        break;
      }
      case 0x58: // BINUNICODE 'X'
        stack.push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())));
        break;
      case 0x56: // UNICODE 'V' (raw-unicode-escape; \uXXXX escapes)
        stack.push(line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, a, b) => String.fromCodePoint(parseInt(a ?? b, 16))));
        break;
      case 0x43: // SHORT_BINBYTES 'C'
        stack.push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES 'B'
        stack.push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x55: // SHORT_BINSTRING 'U' (Python 2 str: latin-1)
        stack.push(latin1(take(u8())));
        break;
      case 0x54: // BINSTRING 'T'
        stack.push(latin1(take(i32())));
        break;
      case 0x4a: // BININT 'J'
        stack.push(i32());
        break;
      case 0x4b: // BININT1 'K'
        stack.push(u8());
        break;
      case 0x4d: // BININT2 'M'
        stack.push(u16());
        break;
      case 0x49: // INT 'I'
      case 0x4c: // LONG 'L'
        try {
          stack.push(textInt(line()));
        } catch {
          fail('malformed integer');
        }
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(decodeLong(take(i32())));
        break;
      case 0x47: // BINFLOAT 'G' (big-endian double)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: // FLOAT 'F'
        stack.push(Number(line()));
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE 'N'
        stack.push(null);
        break;
      case 0x63: { // GLOBAL 'c'
        const module = line();
        stack.push(resolveGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE 'R'
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const obj = call(pop(), args);
        if (obj instanceof PyObject) obj.state = kwargs;
        stack.push(obj);
        break;
      }
      case 0x62: { // BUILD 'b'
        const state = pop();
        const obj = top();
        // Data never needs its BUILD state (an OrderedDict's `_metadata`); opaque objects keep it.
        if (obj instanceof PyObject) obj.state = state;
        break;
      }
      case 0x51: { // BINPERSID 'Q'
        const pid = pop();
        if (!options.persistentLoad) fail('persistent id without a persistent loader');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x50: { // PERSID 'P'
        const pid = line();
        if (!options.persistentLoad) fail('persistent id without a persistent loader');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x73: { // SETITEM 's'
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS 'u'
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND 'a'
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS 'e'
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail('ADDITEMS on something that is not a set');
        for (const v of items) (s as Set<unknown>).add(v);
        break;
      }
      case 0x71: // BINPUT 'q'
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT 'r'
        memo.set(u32(), top());
        break;
      case 0x70: // PUT 'p'
        memo.set(Number(line()), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET 'h'
      case 0x6a: // LONG_BINGET 'j'
      case 0x67: { // GET 'g'
        const i = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(i)) fail(`memo key ${i} not found`);
        stack.push(memo.get(i));
        break;
      }
      case 0x30: // POP '0'
        if (stack.length) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK '1'
        popMark();
        break;
      case 0x32: // DUP '2'
        stack.push(top());
        break;
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

Object.assign(OP_NAMES, {
  0x80: 'PROTO', 0x95: 'FRAME', 0x2e: 'STOP', 0x28: 'MARK', 0x7d: 'EMPTY_DICT', 0x5d: 'EMPTY_LIST', 0x29: 'EMPTY_TUPLE',
  0x8f: 'EMPTY_SET', 0x64: 'DICT', 0x6c: 'LIST', 0x74: 'TUPLE', 0x91: 'FROZENSET', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x58: 'BINUNICODE', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x56: 'UNICODE', 0x43: 'SHORT_BINBYTES',
  0x42: 'BINBYTES', 0x8e: 'BINBYTES8', 0x55: 'SHORT_BINSTRING', 0x54: 'BINSTRING', 0x4a: 'BININT', 0x4b: 'BININT1',
  0x4d: 'BININT2', 0x49: 'INT', 0x4c: 'LONG', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x47: 'BINFLOAT', 0x46: 'FLOAT', 0x88: 'NEWTRUE',
  0x89: 'NEWFALSE', 0x4e: 'NONE', 0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX',
  0x62: 'BUILD', 0x51: 'BINPERSID', 0x50: 'PERSID', 0x73: 'SETITEM', 0x75: 'SETITEMS', 0x61: 'APPEND', 0x65: 'APPENDS',
  0x90: 'ADDITEMS', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x70: 'PUT', 0x94: 'MEMOIZE', 0x68: 'BINGET', 0x6a: 'LONG_BINGET',
  0x67: 'GET', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP',
});
