import { describe, expect, it } from "vitest";
import { isObjectId, newObjectId, timeOfId } from "../../src/core/object-ids.js";

describe("object ids", () => {
  it("sort in the order they were made, also within one millisecond", () => {
    const now = Date.now() + 10_000;
    const ids = Array.from({ length: 5000 }, () => newObjectId(now));
    expect(ids.every(isObjectId)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(timeOfId(ids[0])).toBe(now);
  });

  it("carry their creation time", () => {
    const id = newObjectId(1_700_000_000_000);
    expect(timeOfId(id)).toBe(1_700_000_000_000);
    expect(timeOfId("not an id")).toBeUndefined();
  });
});
