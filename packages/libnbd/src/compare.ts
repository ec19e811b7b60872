import type { NbdConnection, NbdExtent } from "./connection.js";

/** How much of each export one comparison step reads. */
const COMPARE_CHUNK_BYTES = 4 * 1024 * 1024;

/** Walks one export's extents forward, asking the server for more only when needed. */
class ExtentCursor {
  #extents: NbdExtent[] = [];
  #index = 0;

  constructor(
    private readonly connection: NbdConnection,
    private readonly end: bigint,
  ) {}

  /** The extent containing `position`; positions must not go backwards. */
  async at(position: bigint): Promise<NbdExtent> {
    for (;;) {
      let extent = this.#extents[this.#index];
      while (extent !== undefined && extent.offset + extent.length <= position) {
        extent = this.#extents[++this.#index];
      }
      if (extent !== undefined && extent.offset <= position) return extent;
      this.#extents = await this.connection.blockStatus(position, this.end - position);
      this.#index = 0;
      if (this.#extents[0]?.offset !== position) {
        throw new Error(`compareExports: the server described no extent at offset ${position}`);
      }
    }
  }
}

/**
 * Compares two exports byte for byte over [offset, offset+length) (default: the whole export, and
 * then the sizes must match). Resolves to null when equal, else to the first differing offset.
 * Reads up to 4 MiB at a time and does not read ranges that block status says read as zeroes on
 * BOTH sides (a hole without the zero flag is read: NBD does not promise it reads as zeroes).
 */
export async function compareExports(
  a: NbdConnection,
  b: NbdConnection,
  range?: { offset: bigint; length: bigint },
): Promise<bigint | null> {
  let start = 0n;
  let length = a.size;
  if (range === undefined) {
    if (a.size !== b.size) {
      throw new RangeError(`compareExports: export sizes differ (${a.size} and ${b.size} bytes)`);
    }
  } else {
    ({ offset: start, length } = range);
    if (start < 0n || length < 0n) {
      throw new RangeError(`compareExports: negative offset or length (${start}, ${length})`);
    }
    if (start + length > a.size || start + length > b.size) {
      throw new RangeError(
        `compareExports: range ${start}+${length} is beyond an export (${a.size} and ${b.size} bytes)`,
      );
    }
  }

  const end = start + length;
  const cursorA = new ExtentCursor(a, end);
  const cursorB = new ExtentCursor(b, end);
  let position = start;
  while (position < end) {
    // Gather up to one chunk of consecutive extents that must be read; small extents (fragmented
    // images) are read together rather than one request each.
    const chunkEnd = minBigInt(end, position + BigInt(COMPARE_CHUNK_BYTES));
    let readEnd = position;
    while (readEnd < chunkEnd) {
      const [extentA, extentB] = await Promise.all([cursorA.at(readEnd), cursorB.at(readEnd)]);
      const stepEnd = minBigInt(
        chunkEnd,
        extentA.offset + extentA.length,
        extentB.offset + extentB.length,
      );
      if (extentA.zero && extentB.zero) {
        if (readEnd === position) position = readEnd = stepEnd;
        break;
      }
      readEnd = stepEnd;
    }
    if (readEnd === position) continue;

    const count = Number(readEnd - position);
    const [dataA, dataB] = await Promise.all([a.pread(position, count), b.pread(position, count)]);
    const index = firstDifference(dataA, dataB);
    if (index >= 0) return position + BigInt(index);
    position = readEnd;
  }
  return null;
}

function firstDifference(first: Buffer, second: Buffer): number {
  if (first.equals(second)) return -1;
  for (let i = 0; i < first.length; i++) {
    if (first[i] !== second[i]) return i;
  }
  return first.length;
}

function minBigInt(first: bigint, ...rest: bigint[]): bigint {
  return rest.reduce((smallest, value) => (value < smallest ? value : smallest), first);
}
