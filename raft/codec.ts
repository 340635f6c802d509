/**
 * Packed formats shared with native/raft (host.rs has the authoritative description): the ready
 * buffer one cycle returns, proposal batches and their results, conf changes. Integers are
 * little-endian; u64 ids and indexes are read as JS numbers (safe below 2^53). Decoding makes
 * views into the ready buffer, never copies.
 */

/** Role of a node in a group, as reported by raft. */
export type RaftRole = "follower" | "candidate" | "leader" | "precandidate";

const roles: readonly RaftRole[] = ["follower", "candidate", "leader", "precandidate"];

/** Membership of a group; `votersOutgoing` is non-empty while in a joint configuration. */
export interface Membership {
  voters: number[];
  learners: number[];
  votersOutgoing: number[];
  learnersNext: number[];
  autoLeave: boolean;
}

/** Kind of one change of a membership change (numbers as in eraftpb.ConfChangeType). */
export const ChangeType = { AddVoter: 0, Remove: 1, AddLearner: 2 } as const;

/** One change of a membership change. */
export interface MemberChange {
  type: (typeof ChangeType)[keyof typeof ChangeType];
  nodeId: number;
}

/** A committed entry handed out for applying. `data`/`context` are views into the ready buffer. */
export interface ReadyEntry {
  /** "normal" entries carry application data; "confChange" entries a membership change. */
  kind: "normal" | "confChange";
  index: number;
  term: number;
  /** Normal: the proposal context. */
  context: Uint8Array;
  /** Normal: the proposed bytes. Conf change: the change's context (set by the proposer). */
  data: Uint8Array;
  /** Conf change only: the changes. */
  changes?: MemberChange[];
}

/** One group's part of a ready. */
export interface GroupReady {
  groupId: number;
  term: number;
  commit: number;
  leader: number;
  role: RaftRole;
  lastIndex: number;
  /** A snapshot received from the leader, to install into the application. */
  snapshot?: { index: number; term: number; data: Uint8Array };
  /** Membership after the conf changes (or snapshot) of this ready. */
  membership?: Membership;
  readStates: { index: number; context: Uint8Array }[];
  entries: ReadyEntry[];
}

/** A snapshot message to stream to a follower; the data comes from the application. */
export interface SnapshotMessage {
  groupId: number;
  to: number;
  index: number;
  term: number;
  /** eraftpb.Message (MsgSnapshot) without data. */
  message: Uint8Array;
}

/** A decoded ready. `messages` maps a destination node to a packed step buffer. */
export interface Ready {
  groups: GroupReady[];
  messages: Map<number, Uint8Array>;
  snapshots: SnapshotMessage[];
}

/** A cursor over a packed buffer; throws RangeError on truncation. */
export class PackReader {
  private readonly view: DataView;
  pos = 0;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** True when every byte was consumed. */
  get done(): boolean {
    return this.pos >= this.buf.byteLength;
  }

  u8(): number {
    return this.view.getUint8(this.pos++);
  }

  u32(): number {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(): number {
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  bytes(): Uint8Array {
    const n = this.u32();
    if (this.pos + n > this.buf.byteLength) throw new RangeError(`packed buffer truncated at ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  ids(): number[] {
    const n = this.u32();
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.u64();
    return out;
  }
}

/** A growable little-endian writer. */
export class PackWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.room(1);
    this.view.setUint8(this.length++, v);
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
    return this;
  }

  u64(v: number): this {
    this.room(8);
    this.view.setUint32(this.length, v % 0x1_0000_0000, true);
    this.view.setUint32(this.length + 4, Math.floor(v / 0x1_0000_0000), true);
    this.length += 8;
    return this;
  }

  raw(b: Uint8Array): this {
    this.room(b.byteLength);
    this.buf.set(b, this.length);
    this.length += b.byteLength;
    return this;
  }

  bytes(b: Uint8Array): this {
    return this.u32(b.byteLength).raw(b);
  }

  /** The written bytes (a view; valid until the next write). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Forgets the contents, keeping the memory. */
  reset(): void {
    this.length = 0;
  }
}

function membership(r: PackReader): Membership {
  const autoLeave = r.u8() !== 0;
  return { autoLeave, voters: r.ids(), learners: r.ids(), votersOutgoing: r.ids(), learnersNext: r.ids() };
}

/** Decodes `(type:u8 node:u64)*`. */
export function decodeChanges(b: Uint8Array): MemberChange[] {
  const r = new PackReader(b);
  const out: MemberChange[] = [];
  while (!r.done) out.push({ type: r.u8() as MemberChange["type"], nodeId: r.u64() });
  return out;
}

/** Encodes changes as `(type:u8 node:u64)*`. */
export function encodeChanges(changes: readonly MemberChange[]): Uint8Array {
  const w = new PackWriter();
  for (const c of changes) w.u8(c.type).u64(c.nodeId);
  return w.finish().slice();
}

/**
 * Decodes a packed ready. Byte fields are views into `buf`: copy what must outlive the cycle.
 * @throws RangeError when the buffer is truncated (a bug: the addon produced it).
 */
export function decodeReady(buf: Uint8Array): Ready {
  const r = new PackReader(buf);
  const groups: GroupReady[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const groupId = r.u64();
    const flags = r.u8();
    const g: GroupReady = {
      groupId,
      term: r.u64(),
      commit: r.u64(),
      leader: r.u64(),
      role: roles[r.u8()] ?? "follower",
      lastIndex: r.u64(),
      readStates: [],
      entries: [],
    };
    if (flags & 1) g.snapshot = { index: r.u64(), term: r.u64(), data: r.bytes() };
    if (flags & 2) g.membership = membership(r);
    for (let k = r.u32(); k > 0; k--) g.readStates.push({ index: r.u64(), context: r.bytes() });
    for (let k = r.u32(); k > 0; k--) {
      const type = r.u8();
      const index = r.u64();
      const term = r.u64();
      const context = r.bytes();
      const data = r.bytes();
      if (type === 0) g.entries.push({ kind: "normal", index, term, context, data });
      else g.entries.push({ kind: "confChange", index, term, context: new Uint8Array(0), data, changes: decodeChanges(context) });
    }
    groups.push(g);
  }
  const messages = new Map<number, Uint8Array>();
  for (let n = r.u32(); n > 0; n--) messages.set(r.u64(), r.bytes());
  const snapshots: SnapshotMessage[] = [];
  for (let n = r.u32(); n > 0; n--) {
    snapshots.push({ groupId: r.u64(), to: r.u64(), index: r.u64(), term: r.u64(), message: r.bytes() });
  }
  return { groups, messages, snapshots };
}

/** Decodes `destCount:u32 (to:u64 len:u32 msgs)*` (what `RaftHost.persisted` returns). */
export function decodeDests(buf: Uint8Array): Map<number, Uint8Array> {
  const r = new PackReader(buf);
  const messages = new Map<number, Uint8Array>();
  for (let n = r.u32(); n > 0; n--) messages.set(r.u64(), r.bytes());
  return messages;
}

/** Outcome of one proposal of a batch. */
export type ProposeResult =
  | { status: "ok"; index: number; term: number }
  | { status: "notLeader"; leader: number }
  | { status: "dropped" }
  | { status: "noSuchGroup" };

/** Decodes the result buffer of `RaftHost.propose`. */
export function decodeProposeResults(buf: Uint8Array): ProposeResult[] {
  const r = new PackReader(buf);
  const out: ProposeResult[] = [];
  while (!r.done) {
    const status = r.u8();
    const a = r.u64();
    const b = r.u64();
    if (status === 0) out.push({ status: "ok", index: a, term: b });
    else if (status === 1) out.push({ status: "notLeader", leader: a });
    else if (status === 2) out.push({ status: "dropped" });
    else out.push({ status: "noSuchGroup" });
  }
  return out;
}
