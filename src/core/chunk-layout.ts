/** Picks the chunk I/O for an array's storage layout: one object per chunk, or shards. */
import { ValidationError } from "../errors.js";
import { CodecConfigurationError } from "../format/index.js";
import { parseShardLayout, type ShardLayout, usesSharding } from "../format/sharding.js";
import { type ChunkIO, type ChunkIOContext, ChunkPerObjectIO } from "./chunk-io.js";
import { ShardedChunkIO } from "./sharded-chunk-io.js";

/** The chunk I/O for an array's layout. ValidationError for codecs dosna cannot use. */
export function createChunkIO(context: ChunkIOContext): ChunkIO {
  const { info } = context;
  if (!usesSharding(info.codecs)) return new ChunkPerObjectIO(context);
  let layout: ShardLayout;
  try {
    layout = parseShardLayout(info.codecs, info);
  } catch (error) {
    if (error instanceof CodecConfigurationError) throw new ValidationError(`invalid codecs: ${error.message}`);
    throw error;
  }
  return new ShardedChunkIO(context, layout);
}
