/**
 * A read-only ZIP archive reader for the archives `torch.save` writes (PKWARE APPNOTE 6.3): the End Of Central
 * Directory record (found by scanning back from the end, past an optional comment), its ZIP64 locator and record
 * when a field is saturated (archives over 4 GiB or with over 65,535 entries), then the central directory, and for
 * each entry its local header (whose name / extra lengths may differ from the central ones: PyTorch pads the local
 * extra field so every record's data starts on a 64-byte boundary).
 *
 * Only STORED (method 0) entries can be read — PyTorch never compresses; a compressed or encrypted entry is an
 * error naming the entry. The archive is read through a file descriptor, entry by entry (`read`), so a file of any
 * size is never held in memory at once and each entry lands in its own, aligned, ArrayBuffer.
 *
 * Every error names the file and, where there is one, the entry: a file without an End Of Central Directory
 * (not a ZIP, or truncated), a central directory or local header beyond the end of the file or with a wrong
 * signature, an entry whose data runs past the end (truncated download).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export class ZipError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  /** 0 = stored; anything else cannot be read here. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the local file header. */
  localHeaderOffset: number;
  /** General purpose flags (bit 0: encrypted). */
  flags: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

/** Reads a safe integer from a little-endian u64. */
function u64(dv: DataView, at: number): number {
  const v = dv.getBigUint64(at, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(v);
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  readonly size: number;
  private fd: number | null;

  private constructor(
    readonly file: string,
    fd: number,
  ) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
  }

  /** Opens `file` and reads its central directory; throws ZipError (file closed) on any problem. */
  static open(file: string): ZipReader {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw new ZipError(file, `cannot read: ${(e as Error).message}`);
    }
    const z = new ZipReader(file, fd);
    try {
      z.readDirectory();
    } catch (e) {
      z.close();
      throw e;
    }
    return z;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private fail(detail: string): never {
    throw new ZipError(this.file, detail);
  }

  /** `length` bytes at `position`, or an error saying what was being read when the file ends first. */
  readAt(position: number, length: number, what: string): Uint8Array {
    if (this.fd === null) this.fail('archive already closed');
    if (position < 0 || position + length > this.size) {
      this.fail(`truncated archive: ${what} spans bytes [${position}, ${position + length}) but the file has ${this.size}`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      // fs.readSync takes at most 2^31 − 1 bytes per call: read large entries in 1 GiB pieces.
      const n = readSync(this.fd!, out, done, Math.min(length - done, 1 << 30), position + done);
      if (n === 0) this.fail(`truncated archive: end of file while reading ${what}`);
      done += n;
    }
    return out;
  }

  private readDirectory(): void {
    if (this.size < 22) this.fail(`not a ZIP archive (${this.size} bytes; truncated?)`);
    const tailLen = Math.min(this.size, 22 + 65535 + 20);
    const tailStart = this.size - tailLen;
    const tail = this.readAt(tailStart, tailLen, 'the end of central directory');
    const tdv = new DataView(tail.buffer);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tdv.getUint32(i, true) === SIG_EOCD && i + 22 + tdv.getUint16(i + 20, true) <= tailLen) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.fail('no ZIP end of central directory record (not a ZIP archive, or the file is truncated)');
    let count = tdv.getUint16(eocd + 10, true);
    let cdSize = tdv.getUint32(eocd + 12, true);
    let cdOffset = tdv.getUint32(eocd + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || tdv.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) this.fail('ZIP64 archive without a ZIP64 end of central directory locator');
      const recOffset = u64(tdv, loc + 8);
      const rec = new DataView(this.readAt(recOffset, 56, 'the ZIP64 end of central directory').buffer);
      if (rec.getUint32(0, true) !== SIG_ZIP64_EOCD) this.fail(`bad ZIP64 end of central directory signature at byte ${recOffset}`);
      count = u64(rec, 32);
      cdSize = u64(rec, 40);
      cdOffset = u64(rec, 48);
    }
    const cd = this.readAt(cdOffset, cdSize, 'the central directory');
    const dv = new DataView(cd.buffer);
    const utf8 = new TextDecoder('utf-8');
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || dv.getUint32(p, true) !== SIG_CENTRAL) this.fail(`corrupt central directory (entry ${i} at byte ${cdOffset + p})`);
      const flags = dv.getUint16(p + 8, true);
      const method = dv.getUint16(p + 10, true);
      let compressedSize = dv.getUint32(p + 20, true);
      let size = dv.getUint32(p + 24, true);
      const nameLen = dv.getUint16(p + 28, true);
      const extraLen = dv.getUint16(p + 30, true);
      const commentLen = dv.getUint16(p + 32, true);
      let localHeaderOffset = dv.getUint32(p + 42, true);
      if (p + 46 + nameLen + extraLen + commentLen > cdSize) this.fail(`corrupt central directory (entry ${i} runs past it)`);
      const name = utf8.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: the saturated fields, in this order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = dv.getUint16(e, true);
        const len = dv.getUint16(e + 2, true);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) (size = u64(dv, q)), (q += 8);
          if (compressedSize === 0xffffffff) (compressedSize = u64(dv, q)), (q += 8);
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(dv, q);
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset, flags });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** Byte offset of `entry`'s data in the file (after its local header). */
  dataOffset(entry: ZipEntry): number {
    const h = new DataView(this.readAt(entry.localHeaderOffset, 30, `the local header of "${entry.name}"`).buffer);
    if (h.getUint32(0, true) !== SIG_LOCAL) this.fail(`"${entry.name}": bad local header signature at byte ${entry.localHeaderOffset}`);
    return entry.localHeaderOffset + 30 + h.getUint16(26, true) + h.getUint16(28, true);
  }

  /** The bytes of entry `name` (a fresh buffer of exactly its size). */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (!entry) this.fail(`no entry "${name}" in the archive`);
    if (entry.flags & 1) this.fail(`"${name}" is encrypted`);
    if (entry.method !== 0) this.fail(`"${name}" is compressed (method ${entry.method}); only stored entries can be read (torch.save never compresses)`);
    const at = this.dataOffset(entry);
    if (at + entry.size > this.size) {
      this.fail(`truncated archive: "${name}" needs bytes [${at}, ${at + entry.size}) but the file has ${this.size}`);
    }
    return this.readAt(at, entry.size, `"${name}"`);
  }
}

/** Whether the first bytes of a file are a ZIP local header ("PK\x03\x04") or an empty archive's EOCD. */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}
