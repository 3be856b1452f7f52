/**
 * The queue's acknowledgement state, as an append-only journal of 16-byte entries:
 *
 *   0  u8   type: 1 = FLOOR (every seq ≤ value is acknowledged or dropped), 2 = DEAD (this seq is)
 *   1  3    reserved, 0
 *   4  u32  seq low (LE)      8  u32  seq high (LE)
 *   12 u32  CRC-32 of bytes 0..11
 *
 * Entries with a bad checksum (a torn last write) are ignored. When the journal grows past a
 * bound it is rewritten (temp file + rename) with the current floor and the dead seqs above it.
 */
import { closeSync, constants, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';

const ENTRY = 16;
const FLOOR = 1;
const DEAD = 2;
/** Rewrite the journal once it holds this many bytes. */
export const JOURNAL_COMPACT_BYTES = 256 * 1024;

export interface JournalState {
  floor: number;
  dead: Set<number>;
  /** Entries skipped because their checksum did not match. */
  bad: number;
}

function entry(buf: Buffer, off: number, type: number, seq: number): void {
  buf.fill(0, off, off + ENTRY);
  buf[off] = type;
  buf.writeUInt32LE(seq % 0x1_0000_0000, off + 4);
  buf.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), off + 8);
  buf.writeUInt32LE(crc32(buf.subarray(off, off + 12)), off + 12);
}

/** Reads a journal; a missing file is an empty state. */
export function readJournal(path: string): JournalState {
  const state: JournalState = { floor: 0, dead: new Set(), bad: 0 };
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return state;
    throw err;
  }
  for (let off = 0; off + ENTRY <= buf.length; off += ENTRY) {
    if (crc32(buf.subarray(off, off + 12)) !== buf.readUInt32LE(off + 12)) {
      state.bad++;
      continue;
    }
    const seq = buf.readUInt32LE(off + 4) + buf.readUInt32LE(off + 8) * 0x1_0000_0000;
    if (buf[off] === FLOOR) state.floor = Math.max(state.floor, seq);
    else if (buf[off] === DEAD) state.dead.add(seq);
    else state.bad++;
  }
  if (buf.length % ENTRY !== 0) state.bad++;
  for (const s of state.dead) if (s <= state.floor) state.dead.delete(s);
  return state;
}

export class StateJournal {
  private fdNo: number;
  private size: number;
  private scratch = Buffer.alloc(ENTRY * 64);

  constructor(
    private readonly path: string,
    existingBytes: number,
  ) {
    this.fdNo = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    // A torn entry at the end would misalign every later one: cut it, continue at a boundary.
    this.size = existingBytes - (existingBytes % ENTRY);
    if (this.size !== existingBytes) ftruncateSync(this.fdNo, this.size);
  }

  get bytes(): number {
    return this.size;
  }

  /** The open descriptor (for a background fsync). */
  get fd(): number {
    return this.fdNo;
  }

  /** Appends a floor and dead seqs (unsynced). */
  write(floor: number | undefined, dead: readonly number[]): void {
    const n = (floor === undefined ? 0 : 1) + dead.length;
    if (n === 0) return;
    if (this.scratch.length < n * ENTRY) this.scratch = Buffer.alloc(n * ENTRY);
    let off = 0;
    if (floor !== undefined) {
      entry(this.scratch, off, FLOOR, floor);
      off += ENTRY;
    }
    for (const s of dead) {
      entry(this.scratch, off, DEAD, s);
      off += ENTRY;
    }
    writeSync(this.fdNo, this.scratch, 0, off, this.size);
    this.size += off;
  }

  sync(): void {
    fsyncSync(this.fdNo);
  }

  /** Replaces the journal with just `floor` and `dead` (atomic rename, synced). */
  rewrite(floor: number, dead: readonly number[]): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    const buf = Buffer.alloc((1 + dead.length) * ENTRY);
    entry(buf, 0, FLOOR, floor);
    dead.forEach((s, i) => entry(buf, (i + 1) * ENTRY, DEAD, s));
    writeSync(fd, buf, 0, buf.length, 0);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    fsyncDir(dirname(this.path));
    closeSync(this.fdNo);
    this.fdNo = openSync(this.path, constants.O_RDWR);
    this.size = buf.length;
  }

  close(): void {
    closeSync(this.fdNo);
  }
}

/** Makes a rename or unlink in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
