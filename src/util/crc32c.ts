/**
 * CRC-32C (Castagnoli), the checksum TFRecord framing uses, and TFRecord's "masked" form of it.
 * Masking exists because a CRC over bytes that themselves contain CRCs is weak; TensorFlow rotates
 * and offsets it, and a reader must undo exactly that, so the constants are fixed by the format.
 */

/** Reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;
const MASK_DELTA = 0xa282ead8;

/** 256-entry lookup table, built once: one table step per byte instead of eight bit steps. */
const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `bytes` (unsigned 32-bit). `crc32c("123456789") === 0xe3069283`. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15, add a constant (mod 2^32). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** Masked CRC-32C of `bytes`, as stored in a TFRecord header or footer. */
export function maskedCrc32c(bytes: Uint8Array): number {
  return maskCrc(crc32c(bytes));
}
