/// <reference lib="dom" />
/**
 * The viewer page of `dosna serve` in a real headless browser: Debian's chromium (/usr/bin/chromium)
 * driven by playwright-core (nothing downloads a browser), against a server on fs and on the S3
 * endpoint under test. It opens the page, navigates the tree to a 3-D dataset, sets the gray
 * colormap and contrast limits, moves the slider of the first axis, and checks the rendered pixels
 * of a known pattern (value = 10·z + 5 on the right half); NaN is drawn magenta; a wheel zoom
 * fetches only the window in view (the chunks read are counted). Screenshots go to test-artifacts/.
 *
 * Without chromium the tests are skipped with a loud message, except under CI=true where that is
 * a failure (CI installs chromium).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as dn from "../../src/index.js";
import { serve, type RunningServer } from "../../src/server/server.js";
import { backendKinds, uniquePoolName, type ClusterFixture } from "../helpers/clusters.js";
import { InstrumentedStore } from "../helpers/instrumented-store.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = join(import.meta.dirname, "../../test-artifacts");

/** cube[z, y, x] = 10·z + (x ≥ 8 ? 5 : 0); [4, 16, 16] float32 in [1, 8, 8] chunks. */
function cube(): Float32Array {
  const v = new Float32Array(4 * 16 * 16);
  for (let z = 0; z < 4; z++) for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) v[(z * 16 + y) * 16 + x] = 10 * z + (x >= 8 ? 5 : 0);
  return v;
}

async function pixel(page: Page, x: number, y: number): Promise<number[]> {
  return page.evaluate(([px, py]) => Array.from((document.getElementById("heatmap") as HTMLCanvasElement).getContext("2d")!.getImageData(px, py, 1, 1).data.slice(0, 3)), [x, y]);
}

async function rendered(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { dosnaViewer: { rendered: number } }).dosnaViewer.rendered);
}

/** Run `action`, then wait until the page has drawn again. */
async function andRedraw(page: Page, action: () => Promise<void>): Promise<void> {
  const before = await rendered(page);
  await action();
  await page.waitForFunction((n) => (window as unknown as { dosnaViewer: { rendered: number } }).dosnaViewer.rendered > n, before, { timeout: 15_000 });
}

async function setInput(page: Page, selector: string, value: string, event: "input" | "change"): Promise<void> {
  await page.evaluate(([sel, v, e]) => {
    const el = document.querySelector(sel) as HTMLInputElement | HTMLSelectElement;
    el.value = v;
    el.dispatchEvent(new Event(e, { bubbles: true }));
  }, [selector, value, event]);
}

/** The gray colormap with contrast limits 0 … 40, each step waited for. */
async function grayFrom0To40(page: Page): Promise<void> {
  await andRedraw(page, () => setInput(page, "#colormap", "gray", "change"));
  await andRedraw(page, () => setInput(page, "#limit-min", "0", "change"));
  await andRedraw(page, () => setInput(page, "#limit-max", "40", "change"));
}

if (!hasChromium) {
  console.warn(`\n*** viewer browser tests SKIPPED: no ${CHROMIUM} (apt-get install -y --no-install-recommends chromium) ***\n`);
  describe("the viewer page", () => {
    it("has chromium for the browser tests (required under CI=true)", () => {
      if (process.env.CI === "true") expect(hasChromium, `CI=true but ${CHROMIUM} is missing`).toBe(true);
      else expect(true).toBe(true);
    });
  });
} else {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const kind of backendKinds.filter((k) => k.name !== "memory")) {
    describe(`the viewer page on ${kind.name}`, () => {
      let fixture: ClusterFixture;
      let server: RunningServer;
      let watched: InstrumentedStore;

      beforeAll(async () => {
        fixture = await kind.make();
        const pool = await fixture.cluster.createPool(uniquePoolName("viewer"));
        const ds = await pool.createDataset("scans/cube", { shape: [4, 16, 16], dtype: "float32", chunks: [1, 8, 8] });
        await ds.set(undefined, cube());
        const holes = await pool.createDataset("holes", { shape: [8, 8], dtype: "float32", chunks: [4, 4], fillValue: 0 });
        const h = new Float32Array(64).fill(1);
        h[0] = NaN;
        await holes.set(undefined, h);
        const line = await pool.createDataset("series", { shape: [100], dtype: "float64", chunks: [32] });
        await line.set(undefined, Float64Array.from({ length: 100 }, (_, i) => Math.sin(i / 10)));
        const vectors = await pool.createDataset("vectors", { shape: [6, 2], dtype: "float32", chunks: [3, 2] });
        await vectors.set(undefined, new Float32Array([0, 0, 1, 0, 0, 1, 5, 5, 1, 1, 9, 9]));
        await vectors.map((c) => c, "vectors_copy");
        const versioned = await fixture.cluster.createPool(uniquePoolName("viewer-repo"));
        const repo = await dn.Repository.init(versioned);
        const s1 = await repo.checkout({ branch: "main", write: true });
        await (await s1.createDataset("img", { shape: [2, 2], dtype: "float32", chunks: [2, 2] })).set(undefined, 0);
        await repo.createTag("v1", await s1.commit("zeros"));
        const s2 = await repo.checkout({ branch: "main", write: true });
        await (await s2.getDataset("img")).set(undefined, 40);
        await s2.commit("forties");
        watched = new InstrumentedStore(pool.context.store);
        server = await serve({ pools: new Map([["lab", await dn.Pool.open(watched, { name: pool.context.poolName })], ["versioned", versioned]]), port: 0 });
      });
      afterAll(async () => {
        await server?.close();
        await fixture?.cleanup();
      });

      it("navigates to a 3-D dataset, moves the slider, and draws the known pattern", async () => {
        const page = await browser.newPage();
        try {
          const errors: string[] = [];
          page.on("pageerror", (e) => errors.push(e.message));
          await page.goto(server.url);
          await page.click('span[data-path="lab/"]');
          await page.click('span[data-path="lab/scans"]');
          await andRedraw(page, () => page.click('span[data-path="lab/scans/cube"]'));
          expect(await page.textContent("#meta")).toContain('"chunks": [');
          await grayFrom0To40(page);
          await andRedraw(page, () => setInput(page, "#slider-0", "3", "input"));
          // 16 columns on a 512-pixel canvas: 32 pixels a cell. z = 3: left 30 → 0.75 → 191, right 35 → 0.875 → 223.
          expect(await pixel(page, 5, 5)).toEqual([191, 191, 191]);
          expect(await pixel(page, 16 * 32 - 5, 16 * 32 - 5)).toEqual([223, 223, 223]);
          await andRedraw(page, () => setInput(page, "#slider-0", "0", "input"));
          expect(await pixel(page, 5, 5)).toEqual([0, 0, 0]);
          expect(await pixel(page, 300, 100)).toEqual([32, 32, 32]);
          await page.screenshot({ path: join(ARTIFACTS, `viewer-${kind.name}-cube.png`) });

          // Zoom into the top-left quarter: only its chunk of the z = 0 plane is read.
          watched.reset();
          const box = (await page.locator("#heatmap").boundingBox())!;
          await andRedraw(page, async () => {
            await page.mouse.move(box.x + 60, box.y + 60);
            await page.mouse.wheel(0, -100);
          });
          const view = await page.evaluate(() => (window as unknown as { dosnaViewer: { last: { sel: string } } }).dosnaViewer.last.sel);
          expect(view).toMatch(/^0,0:\d+:1,0:\d+:1$/);
          const chunkReads = new Set(watched.keysOf("get").filter((k) => k.includes("/c/")));
          expect([...chunkReads]).toEqual([expect.stringMatching(/scans\/cube\/c\/0\/0\/0$/)]);
          // Drag 128 pixels left (2 cells of 64): the view moves 2 columns right, into the next chunk column.
          watched.reset();
          await andRedraw(page, async () => {
            await page.mouse.move(box.x + 300, box.y + 200);
            await page.mouse.down();
            await page.mouse.move(box.x + 172, box.y + 200);
            await page.mouse.up();
          });
          const panned = await page.evaluate(() => (window as unknown as { dosnaViewer: { last: { sel: string } } }).dosnaViewer.last.sel);
          expect(panned).toMatch(/^0,0:\d+:1,2:10:1$/);
          expect([...new Set(watched.keysOf("get").filter((k) => k.includes("/c/")))].map((k) => k.replace(/.*\/c\//, "")).sort()).toEqual(["0/0/0", "0/0/1"]);
          // Shift-click plots that row as a line.
          await page.keyboard.down("Shift");
          await page.mouse.click(box.x + 100, box.y + 100);
          await page.keyboard.up("Shift");
          expect(await page.isVisible("#line")).toBe(true);
          expect(errors).toEqual([]);
        } finally {
          await page.close();
        }
      }, 60_000);

      it("shows NaN in magenta, and 1-D data as a line plot", async () => {
        const page = await browser.newPage();
        try {
          await page.goto(server.url);
          await page.click('span[data-path="lab/"]');
          await andRedraw(page, () => page.click('span[data-path="lab/holes"]'));
          expect(await pixel(page, 2, 2)).toEqual([255, 0, 255]);
          expect(await page.textContent("#scale")).toContain("NaN (magenta): 1");
          await andRedraw(page, () => page.click('span[data-path="lab/series"]'));
          expect(await page.isVisible("#line")).toBe(true);
          const inked = await page.evaluate(() => {
            const c = document.getElementById("line") as HTMLCanvasElement;
            const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
          });
          expect(inked).toBeGreaterThan(300);
          await page.screenshot({ path: join(ARTIFACTS, `viewer-${kind.name}-series.png`) });
        } finally {
          await page.close();
        }
      }, 60_000);

      it("a repository's version picker and log, a dataset's lineage graph, and the nearest-rows form", async () => {
        const page = await browser.newPage();
        try {
          await page.goto(server.url);
          await page.waitForSelector("#ref-versioned");
          await page.click('span[data-path="versioned/"]');
          await page.waitForSelector("#log:not([hidden])");
          expect(await page.textContent("#log-list")).toContain("forties");
          await andRedraw(page, () => page.click('span[data-path="versioned/img"]'));
          await grayFrom0To40(page);
          expect(await pixel(page, 3, 3)).toEqual([255, 255, 255]);
          // The tag v1 holds zeros.
          await setInput(page, "#ref-versioned", "v1", "change");
          await page.waitForFunction(() => (window as unknown as { dosnaViewer: { refs: Record<string, string> } }).dosnaViewer.refs.versioned === "v1");
          await page.click('span[data-path="versioned/"]');
          await page.waitForSelector('span[data-path="versioned/img"]');
          await andRedraw(page, () => page.click('span[data-path="versioned/img"]'));
          await grayFrom0To40(page);
          expect(await pixel(page, 3, 3)).toEqual([0, 0, 0]);

          await page.click('span[data-path="lab/"]');
          await andRedraw(page, () => page.click('span[data-path="lab/vectors_copy"]'));
          await page.waitForSelector("#lineage:not([hidden])");
          expect(await page.locator(".lineage-node").count()).toBe(2);
          expect(await page.textContent("#lineage-graph")).toContain("(map");
          await andRedraw(page, () => page.click('span[data-path="lab/vectors"]'));
          await page.fill("#nearest-row", "4");
          await page.fill("#nearest-k", "2");
          await page.click("#nearest-go");
          await page.waitForFunction(() => (document.getElementById("nearest-out")!.textContent ?? "").includes("row"));
          expect(await page.textContent("#nearest-out")).toMatch(/exact\s+row 4\s+distance 0\s+row 1\s+distance 1/);
          await page.screenshot({ path: join(ARTIFACTS, `viewer-${kind.name}-repo.png`), fullPage: true });
        } finally {
          await page.close();
        }
      }, 60_000);
    });
  }
}
