import { describe, expect, it } from "vitest";
import { terms } from "../../src/catalog/tokenizer.js";

/**
 * These tests hold whatever the tuning of stopwords, stemming or weights: they compare terms with the terms
 * of plain words (so the stemmer's exact output does not matter) and never pin a whole token list.
 */

/** The one term a plain word becomes. */
function term(word: string): string {
  const found = terms(word);
  expect(found, `"${word}" should be one term`).toHaveLength(1);
  return found[0] as string;
}

function expectTerms(text: string, words: string[]) {
  expect(terms(text)).toEqual(expect.arrayContaining(words.map(term)));
}

describe("tokenizer", () => {
  it("splits snake_case", () => {
    expectTerms("list_directory", ["list", "directory"]);
    expectTerms("read_multiple_files", ["read", "multiple", "files"]);
  });

  it("splits camelCase and runs of capitals", () => {
    expect(terms("getFileInfo")).toEqual(expect.arrayContaining(["file", "info"]));
    expectTerms("XMLHttpRequest", ["xml", "http", "request"]);
    expectTerms("parseHTTPResponse", ["parse", "http", "response"]);
  });

  it("splits kebab-case", () => {
    expectTerms("get-sum", ["sum"]);
    expectTerms("trigger-long-running-operation", ["trigger", "long", "running", "operation"]);
  });

  it("splits a server.tool name at the dot", () => {
    expectTerms("files.write_file", ["files", "write", "file"]);
    expectTerms("memory.search_nodes", ["memory", "search", "nodes"]);
    // A short tool name after the dot is still a tool name, not a file extension.
    expectTerms("github.fork", ["github", "fork"]);
    expectTerms("slack.post", ["slack", "post"]);
  });

  it("splits letters from digits", () => {
    expectTerms("base64", ["base", "64"]);
    expectTerms("sha256sum", ["sha", "256", "sum"]);
    expect(terms("base64")).not.toContain("base64");
  });

  it("lowercases", () => {
    expect(terms("READ FILE")).toEqual(terms("read file"));
    expect(terms("CAFÉ")).toEqual(terms("café"));
  });

  it("lets inflections of a word meet", () => {
    expect(term("writes")).toBe(term("write"));
    expect(term("writing")).toBe(term("write"));
    expect(term("files")).toBe(term("file"));
    expect(term("directories")).toBe(term("directory"));
    expect(term("entities")).toBe(term("entity"));
    expect(term("searching")).toBe(term("search"));
  });

  it("keeps words apart that the original Porter stemmer runs together", () => {
    expect(term("news")).not.toBe(term("new"));
    expect(term("generate")).not.toBe(term("general"));
    expect(term("generated")).toBe(term("generate"));
  });

  it("reads a path the request writes to as writing too, and not one it reads", () => {
    const write = term("write");
    expect(terms("save it as Markdown to /root/markdown/report.md")).toContain(write);
    expect(terms("generate a summary at /root/out/summary.txt")).toContain(write);
    expect(terms("give me a markdown report on /root/markdown/site.md")).toContain(write);
    expect(terms("read the data under /root/excel/sales.xlsx")).not.toContain(write);
    expect(terms("convert /root/word/cv.docx, then save the result")).not.toContain(write);
    expect(terms("list /root/docs/a.md")).not.toContain(write);
    expect(terms("save it to /root/out.md", { targets: false })).not.toContain(write);
  });

  it("stems identifiers the same way as prose", () => {
    expect(terms("create_entities")).toEqual(terms("create entities"));
    expect(terms("searchNodes")).toEqual(terms("search nodes"));
  });

  it("drops English filler words", () => {
    expect(terms("the")).toEqual([]);
    expect(terms("of a the")).toEqual([]);
    const query = terms("write the text into a file");
    expect(query).toEqual(expect.arrayContaining([term("write"), term("text"), term("file")]));
    expect(query).not.toContain("the");
    expect(query).not.toContain("a");
  });

  it("has no terms for empty text or punctuation", () => {
    expect(terms("")).toEqual([]);
    expect(terms("  -- ** / ")).toEqual([]);
  });

  it("keeps one word whole when nothing marks a boundary", () => {
    expect(terms("filesystem")).toHaveLength(1);
  });

  it("turns runs of CJK characters into overlapping bigrams", () => {
    expect(terms("搜索文件")).toEqual(expect.arrayContaining(["搜索", "索文", "文件"]));
    expect(terms("ファイルを読む")).toEqual(expect.arrayContaining(["ファ", "ァイ", "イル"]));
    expect(terms("검색 도구")).toEqual(expect.arrayContaining(["검색", "도구"]));
  });

  it("keeps a lone CJK character, and splits CJK from Latin words", () => {
    expect(terms("字")).toContain("字");
    expect(terms("搜索files")).toEqual(expect.arrayContaining(["搜索", term("files")]));
  });

  it("keeps the katakana prolonged sound mark inside its run", () => {
    expect(terms("ツール")).toEqual(expect.arrayContaining(["ツー", "ール"]));
  });
});
