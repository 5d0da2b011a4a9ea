import { describe, expect, it } from "vitest";
import { SelectionError } from "../../src/errors.js";
import { formatSelection, parseSelection, slice, type SelectionItem } from "../../src/selection/index.js";

describe("parseSelection", () => {
  const cases: Array<[string, SelectionItem[]]> = [
    ["", []],
    ["   ", []],
    [":", [slice(null, null, null)]],
    ["-1", [-1]],
    ["+3", [3]],
    ["- 2", [-2]],
    ["1:5, ::-2, ..., 3", [slice(1, 5, null), slice(null, null, -2), "...", 3]],
    [" 1 : 5 : 2 ", [slice(1, 5, 2)]],
    ["::", [slice(null, null, null)]],
    [":3:", [slice(null, 3, null)]],
    ["None:5:None", [slice(null, 5, null)]],
    ["-0", [0]],
    ["1,", [1]],
    ["...,0", ["...", 0]],
    ["[0, 4, 2]", [[0, 4, 2]]],
    ["[0,-4 , 2,]", [[0, -4, 2]]],
    ["[]", [[]]],
    ["[ ]", [[]]],
    ["[true, false, true]", [[true, false, true]]],
    ["[True,False]", [[true, false]]],
    [":, [1, 2], [false], 7", [slice(null, null, null), [1, 2], [false], 7]],
    ["\t1\n,\n2", [1, 2]],
  ];
  for (const [text, items] of cases) {
    it(`parses ${JSON.stringify(text)}`, () => {
      expect(parseSelection(text)).toEqual(items);
    });
  }

  it("does not produce -0", () => {
    expect(Object.is(parseSelection("-0")[0], 0)).toBe(true);
  });

  const errors: Array<[string, string]> = [
    ["1:a", 'invalid selection "1:a" at position 2: expected "," or the end of the selection, found "a"'],
    ["1,,2", 'invalid selection "1,,2" at position 2: expected an integer, a slice, "..." or "[", found ","'],
    ["1.5", 'invalid selection "1.5" at position 1: expected an integer, found "."'],
    ["abc", 'invalid selection "abc" at position 0: expected an integer, a slice, "..." or "[", found "a"'],
    ["None", 'invalid selection "None" at position 0: None (numpy.newaxis) is not supported as an index; ":" selects a whole axis'],
    ["[1 2]", 'invalid selection "[1 2]" at position 3: expected "," or "]", found "2"'],
    ["[1, 2", 'invalid selection "[1, 2" at position 5: expected "," or "]", found the end of the text'],
    ["[1, true]", 'invalid selection "[1, true]" at position 4: cannot mix booleans and integers in one index array'],
    ["[true, 1]", 'invalid selection "[true, 1]" at position 7: cannot mix booleans and integers in one index array'],
    ["[x]", 'invalid selection "[x]" at position 1: expected an integer, true, false or "]", found "x"'],
    ["1::2:3", 'invalid selection "1::2:3" at position 4: expected "," or the end of the selection, found ":"'],
    ["-", 'invalid selection "-" at position 1: expected digits, found the end of the text'],
    ["99999999999999999999", 'invalid selection "99999999999999999999" at position 0: integer 99999999999999999999 is too large'],
    ["1 2", 'invalid selection "1 2" at position 2: expected "," or the end of the selection, found "2"'],
    ["1,,", 'invalid selection "1,,"'],
    ["....", 'invalid selection "...." at position 3'],
  ];
  for (const [text, message] of errors) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseSelection(text)).toThrow(SelectionError);
      expect(() => parseSelection(text)).toThrow(message);
    });
  }
});

describe("formatSelection", () => {
  it("spells selections in the syntax parseSelection reads", () => {
    expect(formatSelection([slice(1, 5), slice(null, null, -2), "...", 3, null, [0, 2], [true, false]])).toBe(
      "1:5, ::-2, ..., 3, :, [0, 2], [true, false]",
    );
    expect(formatSelection(7)).toBe("7");
    expect(formatSelection([])).toBe("");
    expect(formatSelection(undefined)).toBe("...");
    expect(formatSelection(Int32Array.of(1, -1))).toBe("[1, -1]");
    expect(formatSelection([5n])).toBe("5");
  });
});
