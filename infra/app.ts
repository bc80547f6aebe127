import { App } from "aws-cdk-lib";
import { ImEditStack } from "./stacks/im-edit-stack.ts";

const app = new App();
new ImEditStack(app, "ImEdit", {
  description: "im-edit: record and edit sent messages on Tencent Cloud Chat and NetEase Yunxin",
});
app.synth();
