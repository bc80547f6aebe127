import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { type FunctionRole, functionsOf, type ProviderManifest } from "../../functions/providers/manifest.ts";
import type { ServiceFunction } from "../constructs/service-function.ts";
import type { ImEditStackProps } from "./props.ts";
import { providerProps } from "./providers.ts";

/** A provider the stack deploys: its manifest and the props given for it. */
export interface DeployedProvider {
  readonly manifest: ProviderManifest;
  readonly props: Readonly<Record<string, unknown>>;
}

/** The registered providers whose props are given (`props[name]`), in registration order. */
export function deployedProviders(
  props: ImEditStackProps,
  manifests: readonly ProviderManifest[],
): DeployedProvider[] {
  return manifests.flatMap((manifest) => {
    const given = providerProps(props, manifest);
    return given ? [{ manifest, props: given }] : [];
  });
}

/** The plain variables the providers' CDK bindings set in one function (booleans only when true). */
export function providerEnvironment(
  providers: readonly DeployedProvider[],
  role: FunctionRole,
): Record<string, string> {
  const entries = providers.flatMap(({ manifest, props }) =>
    manifest.cdk.context.flatMap((binding): [string, string][] => {
      if (!binding.env?.functions.includes(role)) return [];
      const value = props[binding.prop];
      if (binding.type === "boolean") return value === true ? [[binding.env.variable, "true"]] : [];
      const text = value ?? binding.env.default;
      return text === undefined ? [] : [[binding.env.variable, String(text)]];
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * Imports each secret the providers' props name (in `scope`, the stack) and lets the functions of every
 * role its manifest says reads it have it (`<VARIABLE>_SECRET_ARN`).
 */
export function bindProviderSecrets(
  scope: Construct,
  providers: readonly DeployedProvider[],
  functions: Readonly<Record<FunctionRole, readonly ServiceFunction[]>>,
): void {
  const secret = (name: string, arn: string): ISecret => Secret.fromSecretCompleteArn(scope, name, arn);
  for (const { manifest, props: given } of providers) {
    for (const binding of manifest.cdk.context) {
      const spec = manifest.secrets.find((candidate) => candidate.variable === binding.secret);
      const value = given[binding.prop];
      // An optional secret left out (e.g. a forward secret: the callback secret signs instead).
      if (!spec || value === undefined || value === "") continue;
      const arn = secret(constructId(spec.variable), String(value));
      for (const role of functionsOf(spec)) {
        for (const fn of functions[role]) fn.bindSecret(`${spec.variable}_SECRET_ARN`, arn);
      }
    }
  }
}

/** `TENCENT_CALLBACK_TOKEN` → `TencentCallbackToken` (the imported secret's construct id). */
const constructId = (variable: string): string =>
  variable
    .toLowerCase()
    .split("_")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
