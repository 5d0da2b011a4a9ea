/**
 * One error hierarchy for the whole library. Every message names the dataset, key or argument
 * involved and what was expected, in the manner of numpy's "index 12 is out of bounds for axis 1
 * with size 10".
 */
export class DosnaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A pool, group, dataset or key that does not exist. */
export class NotFoundError extends DosnaError {}

/** Creating something that is already there. */
export class AlreadyExistsError extends DosnaError {}

/** A selection that does not parse or does not fit the array's shape. */
export class SelectionError extends DosnaError {}

/** Shapes that do not match or broadcast. */
export class ShapeError extends DosnaError {}

/** Unknown data type, or a value that the data type cannot hold. */
export class DtypeError extends DosnaError {}

/** Invalid arguments or configuration (zod failures are wrapped in this). */
export class ValidationError extends DosnaError {}

/** A write through something opened read-only. */
export class ReadOnlyError extends DosnaError {}

/** A stored chunk whose bytes cannot be decoded to the expected shape. */
export class CorruptChunkError extends DosnaError {}

/** Stored metadata that is not valid Zarr v3 / dosna metadata. */
export class CorruptMetadataError extends DosnaError {}

/** A failure of the storage backend itself (I/O error, connection refused, rejected credentials). */
export class StorageError extends DosnaError {}

/**
 * A conditional store request whose condition did not hold: `set` with `ifMatch` when the object
 * changed (or is gone), with `ifNoneMatch` when it exists; `delete` with `ifMatch` when it changed.
 * Nothing was written.
 */
export class PreconditionFailedError extends DosnaError {}

/**
 * A read-modify-write that kept losing to other writers until its retries ran out. The message
 * names the key and the number of attempts; nothing of the failed update was stored.
 */
export class ConflictError extends DosnaError {}

/** An operation cancelled through its AbortSignal. */
export class AbortedError extends DosnaError {}

/** A read of a dataset that was invalidated (provenance), with the pool option onStale: "error". */
export class StaleDataError extends DosnaError {}

/** A chunk-wise job that failed on an engine (a worker thread or a `dosna worker`): names the function, the chunk and the worker. */
export class ComputeError extends DosnaError {}

/** The queue engine's Redis cannot be reached, refused the password, or lost the job's state. */
export class QueueError extends DosnaError {}
