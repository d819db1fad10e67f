// The fast CPU backend's storage heap: one shared WebAssembly.Memory from which storages are carved, so the
// WebAssembly kernels (wasm_kernels.ts) work on tensors in place, by byte offset, with no copy in or out, on
// every worker thread (each instantiates the kernels over the same memory).
// - Best-fit over a free list kept sorted by offset, with neighbours merged on release, so the [B,M]
//   buffers of the selection phase are reused for the [M,D] ones of the update phase.
// - The memory grows on demand up to wasm32's 4 GiB and never shrinks. An allocation that does not fit
//   returns null: the caller then uses a plain SharedArrayBuffer, which the JavaScript kernels handle.
// - Memory.grow gives the memory a new SharedArrayBuffer object over the same bytes; views made earlier stay
//   valid. So does V8 at other moments: once another thread has received a view of the memory (a worker job's
//   output), a later grow makes V8 refresh `memory.buffer` again on this thread, when it handles the grow's
//   interrupt, with yet another object. A piece's buffer object therefore says nothing about whether it lies
//   in the heap: the backend records which storages it carved from here (issue 17, item 1: identifying them
//   by buffer object sent heap pieces to the shared pool, which then handed live heap memory out again).

const PAGE = 65536;
/** wasm32's limit: 65536 pages (4 GiB). Offsets above 2^31 reach wasm as negative i32s: the same bits. */
const MAX_PAGES = 65536;
/** Pieces start on 64-byte boundaries (cache lines; any typed-array alignment). */
const ALIGN = 64;

interface Block {
  off: number;
  size: number;
}

export class WasmHeap {
  readonly memory!: WebAssembly.Memory;
  private readonly free: Block[] = [];
  /** Bytes handed out and not yet released. */
  used = 0;
  /** End of the part of memory handed out at least once. The first page stays unused, so no piece is at 0. */
  private top = PAGE;

  private readonly maxPages: number;

  constructor(maxPages = MAX_PAGES) {
    // A shared memory reserves its maximum of address space up front; where the system refuses that much
    // (a strict overcommit policy, a 32-bit address limit), settle for less: what does not fit goes to the pool.
    for (;;) {
      try {
        this.memory = new WebAssembly.Memory({ initial: 1, maximum: maxPages, shared: true });
        break;
      } catch (err) {
        if (maxPages <= 16) throw err;
        maxPages = Math.floor(maxPages / 2);
      }
    }
    this.maxPages = maxPages;
  }

  private buffer(): SharedArrayBuffer {
    return this.memory.buffer as unknown as SharedArrayBuffer;
  }

  /** A piece of `bytes` bytes (zeroed unless `zero` is false), or null when the memory cannot hold it. */
  alloc(bytes: number, zero = true): { buf: SharedArrayBuffer; offset: number } | null {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size >= size && (best < 0 || b.size < this.free[best]!.size)) best = i;
    }
    let off: number;
    if (best >= 0) {
      const b = this.free[best]!;
      off = b.off;
      if (b.size === size) this.free.splice(best, 1);
      else {
        b.off += size;
        b.size -= size;
      }
    } else {
      // Extend at the top; a free block ending there is used as the start.
      const last = this.free[this.free.length - 1];
      const start = last && last.off + last.size === this.top ? last.off : this.top;
      const end = start + size;
      if (!this.reserve(end)) return null;
      if (start !== this.top) this.free.pop();
      this.top = end;
      off = start;
    }
    this.used += size;
    const buf = this.buffer();
    if (zero) new Uint8Array(buf, off, bytes).fill(0);
    return { buf, offset: off };
  }

  /** Make the memory at least `end` bytes long; false when that exceeds the maximum. */
  private reserve(end: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return true;
    // Grow by at least an eighth of the current size, so a run of growing requests grows the memory rarely.
    const need = Math.ceil((end - have) / PAGE);
    const pages = Math.min(this.maxPages - have / PAGE, Math.max(need, Math.ceil(have / PAGE / 8)));
    if (pages < need) return false;
    try {
      this.memory.grow(pages);
    } catch {
      return false; // the system refused the memory: the caller falls back to a plain buffer
    }
    return true;
  }

  /** Return the piece at byte offset `off` of `bytes` bytes (as given by alloc). */
  release(off: number, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    this.used -= size;
    // Insert sorted by offset, then merge with the neighbours.
    let lo = 0,
      hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.off < off) lo = mid + 1;
      else hi = mid;
    }
    const prev = this.free[lo - 1];
    const next = this.free[lo];
    if (prev && prev.off + prev.size > off) throw new Error(`wasm heap: released piece at ${off} overlaps a free block`);
    if (next && off + size > next.off) throw new Error(`wasm heap: released piece at ${off} overlaps a free block`);
    if (prev && prev.off + prev.size === off) {
      prev.size += size;
      if (next && prev.off + prev.size === next.off) {
        prev.size += next.size;
        this.free.splice(lo, 1);
      }
    } else if (next && off + size === next.off) {
      next.off = off;
      next.size += size;
    } else this.free.splice(lo, 0, { off, size });
  }

  /** Bytes held free inside the memory (for memory reports). */
  get freeBytes(): number {
    let s = 0;
    for (const b of this.free) s += b.size;
    return s;
  }
}
