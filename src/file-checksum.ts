import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Size and SHA-256 (hex) of a file. */
export interface FileChecksum {
  bytes: number;
  sha256: string;
}

/** Reads `path` as a stream (never whole into memory) and returns its size and SHA-256. */
export async function fileChecksum(path: string): Promise<FileChecksum> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  return { bytes, sha256: hash.digest('hex') };
}
