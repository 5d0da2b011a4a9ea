import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { baseName, chunkKey, chunkPrefix, metadataKey, normaliseNodePath, parentPath } from "../../src/format/index.js";

const DEFAULT = { name: "default", separator: "/" } as const;
const DEFAULT_DOT = { name: "default", separator: "." } as const;
const V2 = { name: "v2", separator: "." } as const;
const V2_SLASH = { name: "v2", separator: "/" } as const;

describe("chunkKey", () => {
  it.each([
    ["", [0, 1], DEFAULT, "c/0/1"],
    ["a/b", [0, 1], DEFAULT, "a/b/c/0/1"],
    ["a", [12, 0, 3], DEFAULT, "a/c/12/0/3"],
    ["a", [], DEFAULT, "a/c"],
    ["", [], DEFAULT, "c"],
    ["a", [1, 2], DEFAULT_DOT, "a/c.1.2"],
    ["a/b", [0, 1], V2, "a/b/0.1"],
    ["a/b", [], V2, "a/b/0"],
    ["", [3], V2, "3"],
    ["a", [1, 2], V2_SLASH, "a/1/2"],
  ] as const)("%j %j %j → %s", (path, index, enc, expected) => {
    expect(chunkKey(path, index, enc)).toBe(expected);
  });

  it("every chunk key starts with the chunk prefix", () => {
    for (const enc of [DEFAULT, DEFAULT_DOT, V2, V2_SLASH]) {
      for (const path of ["", "x", "x/y"]) {
        for (const index of [[], [0], [4, 5, 6]]) {
          expect(chunkKey(path, index, enc).startsWith(chunkPrefix(path, enc, index.length))).toBe(true);
        }
      }
    }
    expect(chunkPrefix("a/b")).toBe("a/b/c/");
    expect(chunkPrefix("")).toBe("c/");
    expect(chunkPrefix("a", V2)).toBe("a/");
    expect(chunkPrefix("a/b", DEFAULT, 2)).toBe("a/b/c/");
    expect(chunkPrefix("a/b", DEFAULT, 0)).toBe("a/b/c");
  });
});

describe("node paths", () => {
  it("metadataKey", () => {
    expect(metadataKey("")).toBe("zarr.json");
    expect(metadataKey("a/b")).toBe("a/b/zarr.json");
  });

  it("parentPath and baseName", () => {
    expect(parentPath("")).toBeUndefined();
    expect(parentPath("a")).toBe("");
    expect(parentPath("a/b/c")).toBe("a/b");
    expect(baseName("a/b/c")).toBe("c");
    expect(baseName("a")).toBe("a");
    expect(baseName("")).toBe("");
  });

  it.each([
    ["", ""], ["/", ""], ["a", "a"], ["/a/b/", "a/b"], ["//a/b//", "a/b"], ["c", "c"], ["a/c/0", "a/c/0"],
    ["data set.v1", "data set.v1"], ["ünï/ç", "ünï/ç"], ["...", "..."], ["zarr.json.bak", "zarr.json.bak"],
  ])("normalises %j to %j", (input, expected) => {
    expect(normaliseNodePath(input)).toBe(expected);
  });

  it.each([
    ["a//b", /empty segment/], ["a/./b", /segment "\." is not allowed/], ["../x", /segment "\.\." is not allowed/],
    ["a/..", /segment "\.\."/], ["a\0b", /NUL/], ["a\\b", /backslash/], ["a/zarr.json", /collide with Zarr metadata/],
  ])("rejects %j", (input, problem) => {
    expect(() => normaliseNodePath(input, "dataset name")).toThrow(ValidationError);
    expect(() => normaliseNodePath(input, "dataset name")).toThrow(problem);
    expect(() => normaliseNodePath(input, "dataset name")).toThrow(`dataset name ${JSON.stringify(input)} is not a valid node path`);
  });
});
