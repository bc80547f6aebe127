import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RuleSet, RulesError } from "../../functions/core/rules/engine.ts";
import { loadRulesFile, watchRulesFile } from "../../functions/rules-file.ts";

const fixtures = join(import.meta.dirname, "../fixtures/rules");

describe("loadRulesFile", () => {
  it("reads JSON and YAML into the same rules", () => {
    // Act
    const json = loadRulesFile(join(fixtures, "rules.json"));
    const yaml = loadRulesFile(join(fixtures, "rules.yaml"));
    // Assess
    expect(json.rules.map((rule) => rule.id)).toEqual([
      "redact-phone",
      "no-darn",
      "mark-corrected",
      "takedown",
    ]);
    expect(yaml.rules.map((rule) => rule.rule)).toEqual(json.rules.map((rule) => rule.rule));
    expect(json.on("before-send").map((rule) => rule.id)).toEqual(["no-darn"]);
  });

  it("names the file in a rule's error", () => {
    const path = join(fixtures, "bad-pattern.json");
    expect(() => loadRulesFile(path)).toThrow(RulesError);
    expect(() => loadRulesFile(path)).toThrow(
      `rules file ${path}: rule "redact-phone" (index 0): match.text: pattern is not valid: missing closing ]`,
    );
  });

  describe("with files of its own", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "im-edit-rules-"));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };

    it("says what is wrong with the syntax, naming the file", () => {
      const json = file("rules.json", '{ "rules": [ }');
      expect(() => loadRulesFile(json)).toThrow(new RegExp(`^rules file ${json}: not valid JSON: `));
      const yaml = file("rules.yml", "rules:\n  - id: a\n    id: b\n");
      expect(() => loadRulesFile(yaml)).toThrow(
        new RegExp(`^rules file ${yaml}: not valid YAML: .*unique`, "s"),
      );
      const missing = join(dir, "none.json");
      expect(() => loadRulesFile(missing)).toThrow(
        new RegExp(`^rules file ${missing}: cannot be read: ENOENT`),
      );
      const other = file("rules.txt", "{}");
      expect(() => loadRulesFile(other)).toThrow(`rules file ${other}: must end in .json, .yaml or .yml`);
    });

    it("reports a YAML rule's problem like a JSON one", () => {
      const path = file(
        "rules.yaml",
        "rules:\n  - id: x\n    match: { kind: [dm] }\n    action: { replaceText: { text: y } }\n",
      );
      expect(() => loadRulesFile(path)).toThrow(
        new RegExp(`^rules file ${path}: rule "x" \\(index 0\\): match\\.kind\\[0\\]: `),
      );
    });

    it("takes an empty rule list", () => {
      expect(loadRulesFile(file("rules.yaml", "rules: []\n")).rules).toEqual([]);
    });
  });
});

describe("watchRulesFile", () => {
  let dir: string;
  let stop: (() => void) | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "im-edit-rules-watch-"));
  });
  afterEach(() => {
    stop?.();
    stop = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const rules = (...ids: string[]) =>
    JSON.stringify({ rules: ids.map((id) => ({ id, match: {}, action: { replaceText: { text: id } } })) });

  /** Resolves with the next value pushed, or rejects after `ms`: every wait is bounded. */
  function queue<T>() {
    const items: T[] = [];
    const waiters: ((item: T) => void)[] = [];
    return {
      push(item: T) {
        const waiter = waiters.shift();
        if (waiter) waiter(item);
        else items.push(item);
      },
      next(ms = 5_000): Promise<T> {
        const item = items.shift();
        if (item !== undefined) return Promise.resolve(item);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
          waiters.push((value) => {
            clearTimeout(timer);
            resolve(value);
          });
        });
      },
      get size() {
        return items.length;
      },
    };
  }

  it("reloads a changed file, keeps the last good set through a bad one, and says why", async () => {
    // Prepare
    const path = join(dir, "rules.json");
    writeFileSync(path, rules("a"));
    let current = loadRulesFile(path);
    const loads = queue<RuleSet>();
    const errors = queue<Error>();
    stop = watchRulesFile(
      path,
      (set) => {
        current = set;
        loads.push(set);
      },
      (error) => errors.push(error),
      { debounceMs: 20 },
    );

    // Act: a good change.
    writeFileSync(path, rules("a", "b"));
    // Assess
    expect((await loads.next()).rules.map((rule) => rule.id)).toEqual(["a", "b"]);

    // Act: a bad file.
    writeFileSync(path, JSON.stringify({ rules: [{ id: "c", match: { text: "(" }, action: {} }] }));
    // Assess: the error names the file and the rule; the set in force is still the last good one.
    const error = await errors.next();
    expect(error).toBeInstanceOf(RulesError);
    expect(error.message).toMatch(new RegExp(`^rules file ${path}: rule "c" \\(index 0\\): match\\.text: `));
    expect(current.rules.map((rule) => rule.id)).toEqual(["a", "b"]);

    // Act: fixed again, saved the way editors do (a new file renamed over the old one).
    const temp = join(dir, ".rules.json.tmp");
    writeFileSync(temp, rules("d"));
    renameSync(temp, path);
    // Assess
    expect((await loads.next()).rules.map((rule) => rule.id)).toEqual(["d"]);
    expect(current.rules.map((rule) => rule.id)).toEqual(["d"]);
    expect(errors.size).toBe(0);
  });

  it("reports a removed file once and loads it when it comes back", async () => {
    // Prepare
    const path = join(dir, "rules.yaml");
    writeFileSync(path, "rules: []\n");
    const loads = queue<RuleSet>();
    const errors = queue<Error>();
    stop = watchRulesFile(
      path,
      (set) => loads.push(set),
      (error) => errors.push(error),
      { debounceMs: 20 },
    );
    // Act
    rmSync(path);
    // Assess
    expect((await errors.next()).message).toMatch(/cannot be read: ENOENT/);
    // Act
    writeFileSync(path, "rules:\n  - { id: back, match: {}, action: { replaceText: { text: x } } }\n");
    // Assess
    expect((await loads.next()).rules.map((rule) => rule.id)).toEqual(["back"]);
    expect(errors.size).toBe(0);
  });

  it("stops", async () => {
    // Prepare
    const path = join(dir, "rules.json");
    writeFileSync(path, rules("a"));
    const loads = queue<RuleSet>();
    const stopWatching = watchRulesFile(
      path,
      (set) => loads.push(set),
      () => {},
      { debounceMs: 10 },
    );
    // Act
    stopWatching();
    writeFileSync(path, rules("b"));
    // Assess
    await expect(loads.next(300)).rejects.toThrow(/nothing within/);
  });
});
