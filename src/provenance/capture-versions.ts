/**
 * Provenance of repository commits and merges: each successful `session.commit` and
 * `repo.merge` records a `commit` record (version `snapshot:ID`, tags `snapshot` and `branch`)
 * whose inputs are the records of its parent snapshots, in the repository pool's provenance.
 */
import { Repository } from "../versioning/repository.js";
import { Session } from "../versioning/session.js";
import { provenance } from "./capture.js";

async function recordCommit(repo: Repository, snapshot: string, branch: string, message: string, operation: "commit" | "merge"): Promise<void> {
  if (repo.pool.context.provenance === false || repo.pool.context.readOnly) return;
  try {
    const prov = provenance(repo.pool);
    const parents = (await repo.log(snapshot, { limit: 1 }))[0]?.parents ?? [];
    if (operation === "merge" && parents.length < 2) return; // already merged: nothing new
    const inputs = (await Promise.all(parents.map((parent) => prov.find({ tag: { name: "snapshot", value: parent } })))).flatMap((found) => found.slice(-1));
    await prov.record({
      kind: "commit",
      name: message,
      datasetVersion: `snapshot:${snapshot}`,
      inputs,
      activity: { operation, parameters: { branch, parents } },
      tags: { snapshot, branch },
    });
  } catch (error) {
    process.emitWarning(`dosna could not record the provenance of ${operation} ${snapshot}: ${(error as Error).message}`, { code: "DOSNA_PROVENANCE" });
  }
}

let installed = false;

export function installVersionCapture(): void {
  if (installed) return;
  installed = true;
  const commit = Session.prototype.commit;
  Object.defineProperty(Session.prototype, "commit", {
    value: async function (this: Session, ...args: Parameters<Session["commit"]>) {
      const id = await commit.apply(this, args);
      await recordCommit(this.repository, id, this.branch!, args[0], "commit");
      return id;
    },
    writable: true,
    configurable: true,
  });
  const merge = Repository.prototype.merge;
  Object.defineProperty(Repository.prototype, "merge", {
    value: async function (this: Repository, ...args: Parameters<Repository["merge"]>) {
      const result = await merge.apply(this, args);
      if (!result.fastForward) await recordCommit(this, result.snapshot, args[1]?.into ?? "main", args[1]?.message ?? `merge ${args[0]}`, "merge");
      return result;
    },
    writable: true,
    configurable: true,
  });
}
