import { describe, expect, it } from "vitest";
import { placeNames } from "../../src/catalog/place-names.js";

describe("place names in a request (WordNet)", () => {
  it("finds cities, countries and regions by name, a run of names whole", () => {
    expect(placeNames("a trip to the Forbidden City in Beijing")).toEqual(["Forbidden City", "Beijing"]);
    expect(placeNames("homestays in Paris, France for three days")).toEqual(["Paris", "France"]);
    expect(placeNames("relocating to New York City next year")).toEqual(["New York City"]);
  });

  it("takes only names as written: not lowercase words, nor a sentence's first word alone", () => {
    expect(placeNames("weather in paris")).toEqual([]);
    expect(placeNames("Reading the file is slow. Mobile apps too")).toEqual([]);
    expect(placeNames("the train to Reading")).toEqual(["Reading"]);
  });

  it("finds no place in names WordNet knows as something else, or not at all", () => {
    expect(placeNames("the latest iphone prices at Amazon")).toEqual([]);
    expect(placeNames("build a team around Jiyan in the Echo Hall")).toEqual([]);
    expect(placeNames("compare Apple and Nvidia stock")).toEqual([]);
  });

  it("looks at a bounded number of names in a long pasted text", () => {
    const pasted = `${"Alpha Beta Gamma. ".repeat(200)}then Paris`;
    expect(placeNames(pasted)).toEqual([]);
    expect(placeNames("Rome, Paris, London, Berlin and Madrid")).toHaveLength(3);
  });
});
