import type { CdkBindings, CdkContextBinding, ProviderManifest } from "../../functions/providers/manifest.ts";
import type { PROVIDERS } from "../../functions/providers/recorder-providers.ts";
import * as z from "../../functions/zod.ts";
import { isSecretArn, known } from "../constructs/props.ts";

/**
 * The providers' part of the stack props, derived from their manifests' CDK bindings (`cdk.context`):
 * `props[<provider name>]` holds one prop per binding (a string; a boolean for `type: "boolean"`),
 * required when the binding is. A provider with `presence: "required"` must be given, the others may.
 */
type PropValue<B> = B extends { readonly type: "boolean" } ? boolean : string;
type Bindings<C extends CdkBindings> = C["context"][number];

export type BindingProps<C extends CdkBindings> = {
  readonly [B in Bindings<C> as B extends { readonly required: true } ? B["prop"] : never]: PropValue<B>;
} & {
  readonly [B in Bindings<C> as B extends { readonly required: true } ? never : B["prop"]]?: PropValue<B>;
};

type Required<M> = M extends { readonly cdk: { readonly presence: "required" } } ? M : never;
type Optional<M> = M extends { readonly cdk: { readonly presence: "required" } } ? never : M;

export type ProvidersProps<M extends ProviderManifest> = {
  readonly [P in Required<M> as P["name"]]: BindingProps<P["cdk"]>;
} & {
  readonly [P in Optional<M> as P["name"]]?: BindingProps<P["cdk"]>;
};

/** The registered providers' props (recorder-providers.ts): `tencent` (required), `netease` (optional). */
export type RegisteredProvidersProps = ProvidersProps<(typeof PROVIDERS)[number]>;

/** One provider's props as the stack reads them, whatever its manifest. */
export type AnyProviderProps = Readonly<Record<string, unknown>>;

/** `props[name]` for each manifest (the stack props keep providers by name). */
export const providerProps = (
  props: object,
  manifest: Pick<ProviderManifest, "name">,
): AnyProviderProps | undefined =>
  (props as Readonly<Record<string, AnyProviderProps | undefined>>)[manifest.name];

/**
 * Every problem with the providers' props, binding by binding: a required provider given, an optional one
 * given whole; a secret binding a complete Secrets Manager ARN; a variable's value what the provider's
 * config fragment would accept at cold start (its env schema); a boolean a boolean. Unresolved tokens
 * are not checked.
 */
export function providerProblems(manifests: readonly ProviderManifest[], props: object): string[] {
  const problems: string[] = [];
  for (const manifest of manifests) {
    const given = providerProps(props, manifest);
    const { presence, context } = manifest.cdk;
    if (given === undefined && presence !== "required") continue;
    if (given === undefined) {
      const required = context.filter((binding) => binding.required).map((binding) => binding.prop);
      problems.push(`${manifest.name}: missing (${required.join(", ")})`);
    }
    for (const binding of context) {
      const problem = bindingProblem(manifest, binding, given?.[binding.prop]);
      if (problem !== undefined) problems.push(`${manifest.name}.${binding.prop}: ${problem}`);
    }
    // A secret that signs forwards only means something with the forward URL.
    const url = forwardUrlBinding(manifest);
    if (given === undefined || url === undefined || present(given[url.prop])) continue;
    for (const binding of context) {
      const spec = manifest.secrets.find((candidate) => candidate.variable === binding.secret);
      if (!spec?.refuses.every((work) => work === "forwards") || !present(given[binding.prop])) continue;
      problems.push(
        `${manifest.name}.${binding.prop}: applies with ${manifest.name}.${url.prop} only (-c ${url.key})`,
      );
    }
  }
  return problems;
}

/**
 * The binding naming the app's own callback handler the provider's callbacks are forwarded to (the
 * relay): the one whose variable is the config fragment's `forward.urlVariable`.
 */
export function forwardUrlBinding(manifest: ProviderManifest): CdkContextBinding | undefined {
  const variable = manifest.config.forward?.urlVariable;
  return variable === undefined
    ? undefined
    : manifest.cdk.context.find((binding) => binding.env?.variable === variable);
}

/** The providers given with a forward URL: one of them is enough to turn the relay on. */
export function forwardingProviders(
  manifests: readonly ProviderManifest[],
  props: object,
): ProviderManifest[] {
  return manifests.filter((manifest) => {
    const url = forwardUrlBinding(manifest);
    return url !== undefined && present(providerProps(props, manifest)?.[url.prop]);
  });
}

const present = (value: unknown): boolean => value !== undefined && value !== "";

function bindingProblem(
  manifest: ProviderManifest,
  binding: CdkContextBinding,
  value: unknown,
): string | undefined {
  const absent = value === undefined || value === "";
  if (absent) return binding.required ? missing(manifest, binding) : undefined;
  if (binding.type === "boolean") {
    return typeof value === "boolean" ? undefined : `${JSON.stringify(value)} is not true or false`;
  }
  if (typeof value !== "string") return `${JSON.stringify(value)} is not a string`;
  if (!known(value)) return undefined;
  if (binding === forwardUrlBinding(manifest)) return forwardUrlProblem(value);
  if (binding.secret !== undefined) {
    return isSecretArn(value)
      ? undefined
      : `${JSON.stringify(value)} is not a complete Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)`;
  }
  const variable = binding.env?.variable;
  const schema = variable === undefined ? undefined : fieldSchema(manifest, variable);
  if (variable === undefined || schema === undefined) return undefined;
  const parsed = z.safeParse(schema, value);
  return parsed.success
    ? undefined
    : `${JSON.stringify(value)} is refused as ${variable}: ${parsed.error.issues.map((issue) => issue.message).join("; ")}`;
}

/**
 * A forward URL leaves AWS over TLS only (the functions refuse anything else there). The value is not
 * echoed: a URL may carry credentials in its user info, path or query.
 */
function forwardUrlProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return "is not a URL";
  const { protocol } = new URL(value);
  return protocol === "https:"
    ? undefined
    : `uses ${protocol.slice(0, -1)}, not https: forwards from AWS go to https URLs only`;
}

function missing(manifest: ProviderManifest, binding: CdkContextBinding): string {
  const secret = manifest.secrets.find((spec) => spec.variable === binding.secret);
  return secret?.requiredInAws ? `missing; ${secret.variable} is mandatory in AWS` : "missing";
}

/** The schema of one variable of the provider's config fragment. */
function fieldSchema(manifest: ProviderManifest, variable: string): z.core.$ZodType | undefined {
  const shape = manifest.config.schema._zod.def.shape as Readonly<Record<string, z.core.$ZodType>>;
  return Object.hasOwn(shape, variable) ? shape[variable] : undefined;
}
