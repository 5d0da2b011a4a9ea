/** The S3 backend: S3Store/S3Backend over two interchangeable client transports (aws-sdk, minio). */
export { S3Store, S3Backend, parsePoolLocation, createTransport } from "./store.js";
export { s3ConnectionSchema, bucketNameProblem, type S3ConnectionConfig, type S3ConnectionInput } from "./config.js";
export type { S3Transport } from "./transport.js";
