/**
 * provenance/: records of what produced each dataset and from what (Braid's records), an index
 * for lineage queries both ways, invalidation cascading downstream, capture of dosna's own
 * operations, and export as W3C PROV-JSON and Mermaid (docs/provenance.md).
 */
export { Provenance, ProvenanceRecord, KNOWN_KINDS, type ProvenanceGraph, type RecordInput, type RecordQuery } from "./provenance.js";
export { provenance, withProvenance, installProvenance, copyProvenance, PoolProvenance, datasetRecord, contentVersion, type RecordTarget } from "./capture.js";
export { toProvJson, toMermaid } from "./export.js";
export { TAG_TYPES, type ProvenanceRecordData, type TagInput, type TagValue } from "./records.js";
export { installVersionCapture } from "./capture-versions.js";
