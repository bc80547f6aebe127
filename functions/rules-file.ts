import { type FSWatcher, readFileSync, statSync, watch } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, extname } from "node:path";
import { RULE_LIMITS, RuleSet, RulesError } from "./core/rules/engine.ts";

/**
 * The rules file named by `IM_EDIT_RULES`: JSON, or YAML when it ends in `.yaml` / `.yml`. Read
 * synchronously at start (and by `cdk synth`, which validates the bundled file the same way), so a bad
 * rule stops the process before it serves anything.
 */
export function loadRulesFile(path: string): RuleSet {
  return parseRules(path, readRules(path));
}

function readRules(path: string): string {
  try {
    const size = statSync(path).size;
    if (size > RULE_LIMITS.fileBytes) {
      throw new RulesError(`rules file ${path}: ${size} bytes, at most ${RULE_LIMITS.fileBytes}`);
    }
    return readFileSync(path, "utf8");
  } catch (thrown: unknown) {
    if (thrown instanceof RulesError) throw thrown;
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    throw new RulesError(`rules file ${path}: cannot be read: ${reason}`, { cause: thrown });
  }
}

/**
 * The YAML parser, loaded only for a YAML file: the local stack, tests and `cdk synth` have node_modules,
 * while a Lambda never parses YAML (the stack converts a YAML rules file to JSON at synth,
 * infra/constructs/rules-bundle.ts), so the functions' bundles leave `yaml` out (115 KB of every cold
 * import, infra/constructs/bundling.ts). Synchronous, like the rest of the loader.
 */
function loadYaml(path: string): typeof import("yaml") {
  try {
    return createRequire(import.meta.url)("yaml") as typeof import("yaml");
  } catch (thrown: unknown) {
    const reason = thrown instanceof Error ? thrown.message.split("\n")[0] : String(thrown);
    throw new RulesError(
      `rules file ${path}: YAML cannot be read here (${reason}); a deployed function reads JSON only: the stack converts a YAML rules file to rules.json at synth`,
      { cause: thrown },
    );
  }
}

function parseRules(path: string, text: string): RuleSet {
  return RuleSet.parse(parseDocument(path, text), path);
}

/**
 * The file's document and its rules, validated: what `cdk synth` needs to ship a YAML file as JSON
 * (infra/constructs/rules-bundle.ts), so the functions never parse YAML.
 */
export function loadRulesDocument(path: string): { readonly document: unknown; readonly rules: RuleSet } {
  const document = parseDocument(path, readRules(path));
  return { document, rules: RuleSet.parse(document, path) };
}

function parseDocument(path: string, text: string): unknown {
  const extension = extname(path).toLowerCase();
  if (extension === ".yaml" || extension === ".yml") {
    const { parse: parseYaml } = loadYaml(path);
    try {
      // YAML 1.2 core schema: `yes` is a string, not true; duplicate keys and alias bombs are errors.
      return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100, prettyErrors: true }) as unknown;
    } catch (thrown: unknown) {
      const reason = thrown instanceof Error ? thrown.message : String(thrown);
      throw new RulesError(`rules file ${path}: not valid YAML: ${reason}`, { cause: thrown });
    }
  }
  if (extension === ".json") {
    try {
      return JSON.parse(text) as unknown;
    } catch (thrown: unknown) {
      const reason = thrown instanceof Error ? thrown.message : String(thrown);
      throw new RulesError(`rules file ${path}: not valid JSON: ${reason}`, { cause: thrown });
    }
  }
  throw new RulesError(
    `rules file ${path}: must end in .json, .yaml or .yml (the extension picks the parser)`,
  );
}

export interface WatchOptions {
  /** How long a burst of change events settles before the file is read (editors write in steps). */
  readonly debounceMs?: number;
}

/**
 * Local hot reload: reads the file again whenever it changes and hands over the new set; a file that
 * fails keeps the caller's last good set (onLoad is simply not called) and says why through onError.
 * Watches the directory, not the file, so editors that save by renaming a new file over the old one
 * are seen too. A content identical to the last one read is not reported twice. Returns the stop
 * function. Never keeps the process alive by itself.
 */
export function watchRulesFile(
  path: string,
  onLoad: (rules: RuleSet) => void,
  onError: (error: Error) => void,
  options: WatchOptions = {},
): () => void {
  const debounceMs = options.debounceMs ?? 100;
  const name = basename(path);
  let last = fingerprint(safeRead(path));
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const reload = () => {
    timer = undefined;
    if (stopped) return;
    const text = safeRead(path);
    const seen = fingerprint(text);
    if (seen === last) return;
    last = seen;
    try {
      if (text instanceof Error) throw text;
      const rules = parseRules(path, text);
      onLoad(rules);
    } catch (thrown: unknown) {
      onError(thrown instanceof Error ? thrown : new Error(String(thrown)));
    }
  };

  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file !== null && file !== name) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(reload, debounceMs);
      timer.unref();
    });
  } catch (thrown: unknown) {
    onError(
      new RulesError(
        `rules file ${path}: cannot be watched: ${thrown instanceof Error ? thrown.message : String(thrown)}`,
      ),
    );
    return () => {};
  }
  watcher.on("error", (thrown: unknown) => {
    onError(
      new RulesError(
        `rules file ${path}: watch failed: ${thrown instanceof Error ? thrown.message : String(thrown)}`,
      ),
    );
  });
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    watcher.close();
  };
}

const fingerprint = (read: string | Error) =>
  typeof read === "string" ? `text:${read}` : `error:${read.message}`;

/** The file's text, or the read error as a value (so "still missing" is not reported twice). */
function safeRead(path: string): string | Error {
  try {
    return readRules(path);
  } catch (thrown: unknown) {
    return thrown instanceof Error ? thrown : new Error(String(thrown));
  }
}
