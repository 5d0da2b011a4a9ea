/**
 * versioning/: repositories of a pool's hierarchy with commits, branches, tags, diffs, merges and
 * time travel (docs/versioning.md). A Session presents a version as a Store, so core/ runs on it.
 */
export { Repository, VersionStore, MAIN_BRANCH, type CheckoutOptions, type LogEntry, type RepositoryDiff, type DatasetDiff, type RepositorySummary, type GcResult } from "./repository.js";
export { Session, MergeConflictError, type CommitOptions } from "./session.js";
export type { Conflict } from "./changes.js";
export type { Author } from "./objects.js";
