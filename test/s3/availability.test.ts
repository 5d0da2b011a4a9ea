/**
 * Says loudly when the S3 part of the suite did not run. Under CI=true a skipped S3 suite is a
 * failure (except in the Node 24 unit pass, which sets DOSNA_UNIT_ONLY=1 on purpose).
 */
import { expect, it } from "vitest";
import { s3TestConfig } from "../helpers/clusters.js";

const configured = s3TestConfig() !== undefined;
const unitOnly = process.env.DOSNA_UNIT_ONLY === "1";

if (!configured && !unitOnly) {
  console.warn(
    "\n*** The S3 suite was SKIPPED: DOSNA_TEST_S3_ENDPOINT is not set. Run `npm run test:all` to start a local Ceph RGW, ***\n" +
      "*** or set DOSNA_TEST_S3_ENDPOINT, DOSNA_TEST_S3_ACCESS_KEY and DOSNA_TEST_S3_SECRET_KEY for MinIO/AWS.             ***\n",
  );
}

it("runs the S3 suite against a real endpoint (required under CI=true)", () => {
  if (process.env.CI === "true" && !unitOnly) {
    expect(configured, "CI=true but DOSNA_TEST_S3_ENDPOINT is not set: the S3 suite would be skipped").toBe(true);
  }
  expect(configured || process.env.CI !== "true" || unitOnly).toBe(true);
});
