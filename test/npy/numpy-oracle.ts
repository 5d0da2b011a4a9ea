/**
 * numpy as the independent oracle: Debian's python3-numpy through /usr/bin/python3 (the python3 on
 * PATH may be another interpreter). When numpy is missing the oracle tests are skipped with a loud
 * message, except under CI=true where that is a failure (CI installs python3-numpy).
 */
import { execFile, spawnSync } from "node:child_process";
import { expect, it } from "vitest";

export const PYTHON = "/usr/bin/python3";

export const hasNumpy: boolean = spawnSync(PYTHON, ["-c", "import numpy"], { stdio: "ignore" }).status === 0;

let warned = false;

/** Call once per test file that uses numpy: warns when it is missing and fails under CI. */
export function requireNumpyOrWarn(): void {
  if (!hasNumpy && !warned) {
    warned = true;
    console.warn(
      "\n*** numpy oracle tests SKIPPED: /usr/bin/python3 cannot import numpy.                          ***\n" +
        "*** Install it with: apt-get install -y --no-install-recommends python3-numpy                ***\n",
    );
  }
  it("has numpy for the oracle tests (required under CI=true)", () => {
    if (process.env.CI === "true") expect(hasNumpy, "CI=true but /usr/bin/python3 cannot import numpy").toBe(true);
    else expect(true).toBe(true);
  });
}

/** Run a Python script (numpy imported as np) with arguments; resolves to its stdout. */
export function python(script: string, args: string[] = [], options: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ["-c", `import sys, json\nimport numpy as np\n${script}`, ...args], { cwd: options.cwd, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
