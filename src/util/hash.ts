/** A hash of a string that every machine and Node version computes alike (shards and splits rest on it). */
import { createHash } from 'node:crypto';

/** First 8 bytes of SHA-256 of the UTF-8 string, as an unsigned big-endian 64-bit integer. */
export function stableHash64(s: string): bigint {
  return createHash('sha256').update(s, 'utf8').digest().readBigUInt64BE(0);
}
