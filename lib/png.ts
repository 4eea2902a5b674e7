/**
 * A minimal PNG codec for the demo: enough to ship an image and write feature maps, no dependency.
 * Encodes 8-bit gray, RGB or RGBA; decodes 8-bit gray, gray+alpha, RGB and RGBA, non-interlaced
 * (palette, 16-bit and Adam7 images are refused with a message saying so).
 */
import { deflateSync, inflateSync } from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA */
  channels: number;
  /** Row-major, interleaved, width * height * channels bytes. */
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOR_TYPE_OF_CHANNELS: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const CHANNELS_OF_COLOR_TYPE: Record<number, number> = { 0: 1, 4: 2, 2: 3, 6: 4 };

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG (and zlib, gzip) define it. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** Filters one row with filter `type` into out (without the leading filter byte). */
function filterRow(type: number, row: Uint8Array, prior: Uint8Array, bpp: number, out: Uint8Array): void {
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp] : 0;
    const b = prior[i];
    const c = i >= bpp ? prior[i - bpp] : 0;
    let predicted = 0;
    if (type === 1) predicted = a;
    else if (type === 2) predicted = b;
    else if (type === 3) predicted = (a + b) >>> 1;
    else if (type === 4) predicted = paeth(a, b, c);
    out[i] = (row[i] - predicted) & 0xff;
  }
}

/** Encodes an 8-bit image; each row gets the filter with the smallest sum of absolute residuals. */
export function encodePng(image: Image): Buffer {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new RangeError(`PNG size must be positive integers, got ${width}x${height}`);
  }
  const colorType = COLOR_TYPE_OF_CHANNELS[channels];
  if (colorType === undefined) throw new RangeError(`PNG channels must be 1, 2, 3 or 4, got ${channels}`);
  const stride = width * channels;
  if (data.length !== stride * height) {
    throw new RangeError(`PNG data must hold ${stride * height} bytes for ${width}x${height}x${channels}, got ${data.length}`);
  }

  const raw = new Uint8Array((stride + 1) * height);
  const candidate = new Uint8Array(stride);
  let prior: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    let bestType = 0;
    let bestCost = Infinity;
    for (let type = 0; type < 5; type++) {
      filterRow(type, row, prior, channels, candidate);
      let cost = 0;
      for (let i = 0; i < stride; i++) cost += candidate[i] < 128 ? candidate[i] : 256 - candidate[i];
      if (cost < bestCost) {
        bestCost = cost;
        bestType = type;
      }
    }
    const target = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    filterRow(bestType, row, prior, channels, target);
    raw[y * (stride + 1)] = bestType;
    prior = row;
  }

  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = colorType;
  // compression 0, filter method 0, interlace 0
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Decodes an 8-bit, non-interlaced gray, gray+alpha, RGB or RGBA PNG. */
export function decodePng(file: Uint8Array): Image {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (bytes.length < SIGNATURE.length || !bytes.subarray(0, 8).equals(SIGNATURE)) {
    throw new Error('not a PNG file: the signature is missing');
  }
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  let offset = 8;
  let sawEnd = false;
  while (offset + 12 <= bytes.length && !sawEnd) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const bodyEnd = offset + 8 + length;
    if (bodyEnd + 4 > bytes.length) throw new Error(`PNG chunk ${type} is truncated`);
    const body = bytes.subarray(offset + 8, bodyEnd);
    if (crc32(bytes.subarray(offset + 4, bodyEnd)) !== bytes.readUInt32BE(bodyEnd)) {
      throw new Error(`PNG chunk ${type} has a bad CRC`);
    }
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [bitDepth, colorType, , , interlace] = body.subarray(8, 13);
      channels = CHANNELS_OF_COLOR_TYPE[colorType] ?? 0;
      if (bitDepth !== 8) throw new Error(`PNG bit depth ${bitDepth} is not supported (8 only)`);
      if (!channels) throw new Error(`PNG color type ${colorType} is not supported (gray, gray+alpha, RGB, RGBA only)`);
      if (interlace !== 0) throw new Error('interlaced PNGs are not supported');
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      sawEnd = true;
    }
    offset = bodyEnd + 4;
  }
  if (!channels) throw new Error('PNG has no IHDR chunk');
  if (!idat.length) throw new Error('PNG has no IDAT chunk');

  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length < (stride + 1) * height) {
    throw new Error(`PNG image data is short: ${raw.length} bytes for ${width}x${height}x${channels}`);
  }
  const data = new Uint8Array(stride * height);
  const zeros = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = data.subarray(y * stride, (y + 1) * stride);
    const prior = y > 0 ? data.subarray((y - 1) * stride, y * stride) : zeros;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? row[i - channels] : 0;
      const b = prior[i];
      const c = i >= channels ? prior[i - channels] : 0;
      let predicted: number;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = a; break;
        case 2: predicted = b; break;
        case 3: predicted = (a + b) >>> 1; break;
        case 4: predicted = paeth(a, b, c); break;
        default: throw new Error(`PNG row ${y} has unknown filter type ${filter}`);
      }
      row[i] = (src[i] + predicted) & 0xff;
    }
  }
  return { width, height, channels, data };
}
