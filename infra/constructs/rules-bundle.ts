import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { RuleSet } from "../../functions/core/rules/engine.ts";
import { loadRulesDocument } from "../../functions/rules-file.ts";
import type { BundledFile } from "./bundling.ts";
import { asMessage } from "./props.ts";

/** Where Lambda unpacks a function's asset (LAMBDA_TASK_ROOT). */
const TASK_ROOT = "/var/task";

/** The file's name in every asset, whatever the source's format. */
const FILE_NAME = "rules.json";

/**
 * The rules file (`IM_EDIT_RULES`) as a deployment ships it: read and validated at synth by the same
 * loader the functions use, then copied beside the code of the functions that apply rules, always as
 * `rules.json`, with `IM_EDIT_RULES` pointing at it. A YAML file is converted here, so the functions never
 * parse YAML and their bundles leave the parser out (infra/constructs/bundling.ts). A JSON file ships as
 * given. The bytes shipped are the bytes validated: the JSON is validated again as the functions will read
 * it, staged under a name made of its digest, which the bundling step copies, so the content is also part
 * of the asset's hash.
 */
export class RulesBundle {
  private constructor(
    /** The file as given, made absolute. */
    readonly source: string,
    readonly bytes: Buffer,
    readonly ruleCount: number,
    /** How many run on recorded messages through the edit queue (the recorder then sends to it). */
    readonly afterSendCount: number,
  ) {}

  /**
   * Reads and validates `path` (relative to the working directory, as `cdk synth` runs). A file that
   * cannot be read or holds a bad rule gives the loader's message: the file, the rule's id or index,
   * the field and the reason.
   */
  static load(path: string): RulesBundle | { readonly problem: string } {
    const source = resolve(path);
    try {
      const { document, rules } = loadRulesDocument(source);
      if (extname(source).toLowerCase() === ".json") {
        return new RulesBundle(
          source,
          readFileSync(source),
          rules.rules.length,
          rules.on("after-send").length,
        );
      }
      const json = `${JSON.stringify(document, null, 2)}\n`;
      const shipped: unknown = JSON.parse(json);
      // YAML can hold what JSON cannot (.inf, .nan): they would arrive as null, another rule than the one validated.
      if (!isDeepStrictEqual(shipped, document)) {
        return {
          problem: `rules: rules file ${source}: holds values JSON cannot carry (.inf, .nan...); the rules ship as JSON`,
        };
      }
      const converted = RuleSet.parse(shipped, source);
      return new RulesBundle(
        source,
        Buffer.from(json),
        converted.rules.length,
        converted.on("after-send").length,
      );
    } catch (error: unknown) {
      return { problem: `rules: ${asMessage(error)}` };
    }
  }

  /** The file's name in the asset (a YAML source is converted to JSON). */
  get fileName(): string {
    return FILE_NAME;
  }

  /** `IM_EDIT_RULES` in Lambda. */
  get deployedPath(): string {
    return `${TASK_ROOT}/${this.fileName}`;
  }

  get sha256(): string {
    return createHash("sha256").update(this.bytes).digest("hex");
  }

  /** Writes the validated bytes into `dir` (the assembly's asset directory) and names them for bundling. */
  stage(dir: string): BundledFile {
    mkdirSync(dir, { recursive: true });
    const staged = join(dir, `im-edit-rules-${this.sha256.slice(0, 16)}${extname(this.fileName)}`);
    writeFileSync(staged, this.bytes);
    return { source: staged, name: this.fileName };
  }
}
