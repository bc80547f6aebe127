import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { loadRulesFile } from "../../functions/rules-file.ts";
import type { BundledFile } from "./bundling.ts";
import { asMessage } from "./props.ts";

/** Where Lambda unpacks a function's asset (LAMBDA_TASK_ROOT). */
const TASK_ROOT = "/var/task";

/**
 * The rules file (`IM_EDIT_RULES`) as a deployment ships it: read and validated at synth by the same
 * loader the functions use (`loadRulesFile`), then copied beside the code of the functions that apply
 * rules, as `rules.json` (or `rules.yaml`: the loader reads YAML by extension), with `IM_EDIT_RULES`
 * pointing at it. The bytes shipped are the bytes validated: they are staged under a name made of their
 * digest, which the bundling step copies, so the content is also part of the asset's hash.
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
      const rules = loadRulesFile(source);
      return new RulesBundle(source, readFileSync(source), rules.rules.length, rules.on("after-send").length);
    } catch (error: unknown) {
      return { problem: `rules: ${asMessage(error)}` };
    }
  }

  /** The file's name in the asset: `rules` and the source's extension (YAML stays YAML). */
  get fileName(): string {
    const extension = extname(this.source).toLowerCase();
    return `rules${extension === ".yaml" || extension === ".yml" ? extension : ".json"}`;
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
