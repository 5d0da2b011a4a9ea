/** The `shards` option of createDataset: turns a plain array's metadata into a sharded one. */
import { ValidationError } from "../errors.js";
import { type ArrayInfo, SHARD_INDEX_LOCATIONS, type ShardIndexLocation, shardingCodecSpec, shardShapeProblem } from "../format/index.js";

export interface ShardOptions {
  /** Shard shape: one stored object per shard; each axis a multiple of `chunks`. */
  shards?: number[];
  /** Where the shard index sits in each shard object (default "end", the only one zarrita.js reads). */
  shardIndexLocation?: ShardIndexLocation;
  /** Whether the caller gave `chunks` (required with shards). */
  chunksGiven: boolean;
}

/**
 * `info` (whose chunkShape and codecs describe the inner chunks) as a sharded array: the chunk
 * grid becomes the shard grid and the codecs move inside one `sharding_indexed` codec. Unchanged
 * without `shards`.
 */
export function applyShardOptions(info: ArrayInfo, options: ShardOptions, what: string): ArrayInfo {
  const { shards, shardIndexLocation } = options;
  if (shards === undefined) {
    if (shardIndexLocation !== undefined) throw new ValidationError(`${what}: shardIndexLocation was given without shards`);
    return info;
  }
  if (!options.chunksGiven) throw new ValidationError(`${what}: chunks (the inner chunk shape) is required with shards [${shards.join(", ")}]`);
  if (!shards.every((n) => Number.isSafeInteger(n) && n >= 1)) {
    throw new ValidationError(`shards of ${what} must be a list of positive integers, got [${shards.join(", ")}]`);
  }
  if (shardIndexLocation !== undefined && !SHARD_INDEX_LOCATIONS.includes(shardIndexLocation)) {
    throw new ValidationError(`shardIndexLocation of ${what} must be "start" or "end", got ${JSON.stringify(shardIndexLocation)}`);
  }
  const problem = shardShapeProblem(shards, info.chunkShape);
  if (problem !== undefined) throw new ValidationError(`chunks and shards of ${what}: ${problem}`);
  return {
    ...info,
    chunkShape: [...shards],
    codecs: [shardingCodecSpec({ innerChunkShape: info.chunkShape, codecs: info.codecs, indexLocation: shardIndexLocation })],
  };
}
