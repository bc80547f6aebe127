import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { buildConsole } from "../console/build.ts";
import { PROVIDERS } from "../functions/providers/recorder-providers.ts";
import { PropsError } from "./constructs/props.ts";
import { propsFromContext } from "./context.ts";
import { ImEditStack } from "./stacks/im-edit-stack.ts";

/**
 * The CDK app (cdk.json runs it). Parameters come from context: `npx cdk deploy -c sdkAppId=… -c …`;
 * run without them, it lists what is missing. `-c rules=<file>` (or IM_EDIT_RULES) ships a rules file, and a
 * bad rule stops the synth with the rule, the field and the reason. The operator console is built into
 * console/dist and deployed with the stack unless `-c console=off`. cdk-nag's AWS Solutions checks run on
 * every synth and fail it on any finding that is not acknowledged with a reason.
 */
const app = new App();
const context = propsFromContext((key) => app.node.tryGetContext(key), PROVIDERS, process.env);
if (!context.ok) {
  process.stderr.write(`im-edit: cannot synthesize.\n${context.message}\n`);
  process.exit(1);
}
// The console's files, built before the stack stages them (esbuild, a fraction of a second, offline).
if (context.props.console) await buildConsole(context.props.console.assetsPath);
try {
  new ImEditStack(app, context.stackName, context.props);
} catch (error: unknown) {
  if (!(error instanceof PropsError)) throw error;
  process.stderr.write(`im-edit: cannot synthesize.\n${error.message}\n`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
