import { compileAction, compilePattern, parseAction, type RuleSet } from "../rules/engine.ts";
import type { JobRules } from "./actions.ts";

/** The rules engine as jobs use it: the rule in force by id (reloaded sets included), and the compilers. */
export function jobRules(holder: { current(): RuleSet }): JobRules {
  return {
    rule: (id) => holder.current().get(id),
    compileAction: (action) => compileAction(parseAction(action)),
    compilePattern,
  };
}
