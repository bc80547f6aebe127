import * as z from "../../zod.ts";
import { compileAction, compilePattern, type RuleSet, RulesError } from "../rules/engine.ts";
import { RuleAction } from "../rules/schema.ts";
import type { JobRules } from "./actions.ts";

/** The rules engine as jobs use it: the rule in force by id (reloaded sets included), and the compilers. */
export function jobRules(holder: { current(): RuleSet }): JobRules {
  return {
    rule: (id) => holder.current().get(id),
    compileAction: (action) => {
      // The API validated it already; a stored job's action is checked again all the same.
      const parsed = z.safeParse(RuleAction, action);
      if (!parsed.success) {
        const problems = parsed.error.issues.map(
          (issue) => `action.${issue.path.join(".")}: ${issue.message}`,
        );
        throw new RulesError(problems.join("; "));
      }
      return compileAction(parsed.data);
    },
    compilePattern,
  };
}
