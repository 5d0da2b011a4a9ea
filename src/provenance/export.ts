/**
 * A provenance graph out to the ecosystem: W3C PROV-JSON (records of kind "run" are activities,
 * the others entities; an entity made by a dosna operation gets that operation as its activity)
 * and a Mermaid flowchart.
 */
import type { ProvenanceGraph, ProvenanceRecord } from "./provenance.js";

const NS = { dosna: "https://github.com/dosna/dosna/ns#", rec: "urn:dosna:record:", agent: "urn:dosna:agent:" };

type Bundle = Record<string, Record<string, Record<string, unknown>>>;

export function toProvJson(graph: ProvenanceGraph): Record<string, unknown> {
  const doc: Bundle = { entity: {}, activity: {}, agent: {}, used: {}, wasGeneratedBy: {}, wasDerivedFrom: {}, wasAssociatedWith: {}, wasInvalidatedBy: {}, wasInformedBy: {} };
  let relation = 0;
  const add = (kind: string, value: Record<string, unknown>) => (doc[kind][`_:r${++relation}`] = value);
  const isRun = (r: ProvenanceRecord | undefined) => r?.kind === "run";
  const activityOf = (r: ProvenanceRecord) => (isRun(r) ? `rec:${r.id}` : r.data.activity ? `rec:${r.id}.activity` : undefined);
  for (const record of Object.values(graph.records)) {
    const data = record.data;
    const agent = `agent:${encodeURIComponent(`${data.agent.user}@${data.agent.host}`)}`;
    doc.agent[agent] = { "prov:type": { $: "prov:Person", type: "prov:QUALIFIED_NAME" }, "prov:label": `${data.agent.user}@${data.agent.host}` };
    const attributes: Record<string, unknown> = { "prov:label": data.name, "dosna:kind": data.kind, "dosna:revision": data.revision };
    if (data.dataset !== undefined) attributes["dosna:dataset"] = data.dataset;
    if (data.datasetVersion !== undefined) attributes["dosna:version"] = data.datasetVersion;
    for (const [name, tag] of Object.entries(data.tags)) attributes[`dosna:tag_${name.replace(/[^A-Za-z0-9_]/g, "_")}`] = tag.value;
    if (data.uris.length) attributes["dosna:uris"] = data.uris.join(" ");
    if (isRun(record)) {
      doc.activity[`rec:${data.id}`] = { ...attributes, "prov:startTime": data.time, ...activityAttributes(record) };
    } else {
      doc.entity[`rec:${data.id}`] = attributes;
      if (data.activity) doc.activity[`rec:${data.id}.activity`] = { "prov:label": data.activity.operation ?? data.activity.function ?? "operation", "prov:startTime": data.time, ...activityAttributes(record) };
    }
    const activity = activityOf(record);
    if (activity) add("wasAssociatedWith", { "prov:activity": activity, "prov:agent": agent });
    // PROV allows one generation per entity: a run it came out of, else its own dosna operation.
    const generatingRun = isRun(record) ? undefined : data.inputs.map((id) => graph.records[id]).find((input) => isRun(input));
    if (generatingRun) add("wasGeneratedBy", { "prov:entity": `rec:${data.id}`, "prov:activity": `rec:${generatingRun.id}` });
    else if (!isRun(record) && activity) add("wasGeneratedBy", { "prov:entity": `rec:${data.id}`, "prov:activity": activity, "prov:time": data.time });
    for (const inputId of data.inputs) {
      const input = graph.records[inputId];
      if (!input) continue;
      if (isRun(input) && isRun(record)) add("wasInformedBy", { "prov:informed": `rec:${data.id}`, "prov:informant": `rec:${input.id}` });
      else if (!isRun(input)) {
        if (activity) add("used", { "prov:activity": activity, "prov:entity": `rec:${input.id}` });
        if (!isRun(record)) add("wasDerivedFrom", { "prov:generatedEntity": `rec:${data.id}`, "prov:usedEntity": `rec:${input.id}` });
      }
    }
    if (data.stale && !isRun(record)) {
      // One invalidation call is one activity, associated with who ran it.
      const invalidation = `rec:${data.stale.source}.invalidation.${data.stale.at.replace(/[^0-9]/g, "")}`;
      if (!doc.activity[invalidation]) {
        doc.activity[invalidation] = {
          "prov:label": `invalidated: ${data.stale.reason}`,
          "prov:startTime": data.stale.at,
          ...(data.stale.action ? { "dosna:action": data.stale.action } : {}),
        };
        const by = `agent:${encodeURIComponent(`${data.stale.by.user}@${data.stale.by.host}`)}`;
        doc.agent[by] = { "prov:type": { $: "prov:Person", type: "prov:QUALIFIED_NAME" }, "prov:label": `${data.stale.by.user}@${data.stale.by.host}` };
        add("wasAssociatedWith", { "prov:activity": invalidation, "prov:agent": by });
      }
      add("wasInvalidatedBy", { "prov:entity": `rec:${data.id}`, "prov:activity": invalidation, "prov:time": data.stale.at });
    }
  }
  for (const key of Object.keys(doc)) if (Object.keys(doc[key]).length === 0) delete doc[key];
  return { prefix: NS, ...doc };
}

function activityAttributes(record: ProvenanceRecord): Record<string, unknown> {
  const activity = record.data.activity;
  if (!activity) return {};
  const out: Record<string, unknown> = {};
  if (activity.function) out["dosna:function"] = activity.function;
  if (activity.sourceHash) out["dosna:sourceHash"] = activity.sourceHash;
  if (activity.parameters !== undefined) out["dosna:parameters"] = JSON.stringify(activity.parameters);
  return out;
}

/** A Mermaid flowchart: one node per record (stale ones marked), an arrow from each input. */
export function toMermaid(graph: ProvenanceGraph): string {
  const lines = ["flowchart LR"];
  const label = (text: string) => text.replace(/["\\[\]{}<>]/g, " ");
  for (const record of Object.values(graph.records)) {
    const shape = record.kind === "run" ? [`(["`, `"])`] : [`["`, `"]`];
    lines.push(`  r${record.id}${shape[0]}${label(record.name)}<br/>${label(record.kind)}${record.stale ? " (stale)" : ""}${shape[1]}`);
  }
  for (const edge of graph.edges) lines.push(`  r${edge.from} --> r${edge.to}`);
  const stale = Object.values(graph.records).filter((r) => r.stale);
  if (stale.length) {
    lines.push("  classDef stale stroke:#d33,stroke-dasharray:4 2,color:#a00");
    lines.push(`  class ${stale.map((r) => `r${r.id}`).join(",")} stale`);
  }
  return lines.join("\n") + "\n";
}
