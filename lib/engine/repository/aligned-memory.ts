// Page-aligned shared memory, for buffers the store writes with direct I/O (O_DIRECT needs the
// buffer's address, the file offset and the length aligned to the device's block size). JavaScript
// cannot align an ArrayBuffer, but a shared WebAssembly.Memory is mapped on its own pages: its
// SharedArrayBuffer starts page-aligned. When that memory cannot be had, a plain SharedArrayBuffer
// is used and `aligned` is false (the store then writes through the page cache).

/** The alignment direct I/O gets here: 4 KiB covers 512-byte and 4Kn devices. */
export const IO_ALIGNMENT = 4096;
const WASM_PAGE = 64 * 1024;

export interface SharedMemory {
  /** The memory to post to worker threads. */
  memory: SharedArrayBuffer;
  /** A view of exactly `bytes` bytes from the start of `memory`. */
  buffer: Buffer;
  /** True when `buffer` starts on a page boundary. */
  aligned: boolean;
}

export function allocateShared(bytes: number): SharedMemory {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  if (pages <= 65536) {
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer as unknown as SharedArrayBuffer;
      return { memory, buffer: Buffer.from(memory, 0, bytes), aligned: true };
    } catch {
      // no shared WebAssembly memory here (address space limits): fall through
    }
  }
  const memory = new SharedArrayBuffer(bytes);
  return { memory, buffer: Buffer.from(memory), aligned: false };
}

export function alignUp(n: number, to: number = IO_ALIGNMENT): number {
  return Math.ceil(n / to) * to;
}
