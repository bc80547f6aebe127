import { RemovalPolicy, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  type CfnStage,
  type CorsPreflightOptions,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import {
  type FunctionName,
  isCallbackRoute,
  ROUTES,
  type Route,
  routeKey,
} from "../../functions/http/routes.ts";
import { isIntegerIn, Problems } from "./props.ts";

export interface ServiceApiProps {
  /** The function behind each `Route.function`. */
  readonly functions: Readonly<Record<FunctionName, IFunction>>;
  /**
   * The routes to expose: open ones (`auth: "none"`: callbacks, the OpenAPI document) open, the rest behind
   * IAM (SigV4).
   * @default ROUTES (functions/http/routes.ts, shared with the local server)
   */
  readonly routes?: readonly Route[];
  /**
   * Steady rate and burst for the authenticated `/v1` routes, requests per second.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly apiThrottle?: ThrottleSettings;
  /**
   * Steady rate and burst for each callback route. Higher than the API's: the provider sends one callback
   * per message and does not retry a throttled after-callback, so a throttled callback is a lost record.
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly callbackThrottle?: ThrottleSettings;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Browser origins allowed to call the API (API Gateway answers preflights and adds the CORS headers).
   * @default - none: no CORS headers (the operator console's origin, with the console)
   */
  readonly cors?: CorsPreflightOptions;
}

/**
 * The access log format. Deliberately without the request path or query string: Tencent callbacks carry
 * their signature (`Sign`) in the query string, and an access log must not be a replay kit. The route key
 * (`POST /callbacks/{provider}`) says which route answered.
 */
export const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: "$context.requestId",
    time: "$context.requestTime",
    routeKey: "$context.routeKey",
    status: "$context.status",
    protocol: "$context.protocol",
    sourceIp: "$context.identity.sourceIp",
    caller: "$context.identity.userArn",
    responseLength: "$context.responseLength",
    latencyMs: "$context.responseLatency",
    integrationLatencyMs: "$context.integrationLatency",
    integrationError: "$context.integrationErrorMessage",
    error: "$context.error.message",
  }),
);

const API_THROTTLE = { rateLimit: 50, burstLimit: 100 };
const CALLBACK_THROTTLE = { rateLimit: 1000, burstLimit: 2000 };

/** HTTP API (API Gateway v2) with one route per `Route`, throttling, and query-free access logs. */
export class ServiceApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  readonly routes: readonly HttpRoute[];

  /** Every problem with these props: the constructor throws them, the stack checks them ahead with its own. */
  static problems(props: {
    readonly routes?: readonly Route[] | undefined;
    readonly apiThrottle?: ThrottleSettings | undefined;
    readonly callbackThrottle?: ThrottleSettings | undefined;
  }): readonly string[] {
    const routes = props.routes ?? ROUTES;
    const problems = new Problems("ServiceApi");
    for (const [name, throttle] of [
      ["apiThrottle", props.apiThrottle ?? API_THROTTLE],
      ["callbackThrottle", props.callbackThrottle ?? CALLBACK_THROTTLE],
    ] as const) {
      const { rateLimit, burstLimit } = throttle;
      problems
        .check(
          rateLimit !== undefined && isIntegerIn(rateLimit, 1, 10_000),
          `${name}.rateLimit: ${rateLimit} is not an integer in 1-10000`,
        )
        .check(
          burstLimit !== undefined && isIntegerIn(burstLimit, 1, 5_000),
          `${name}.burstLimit: ${burstLimit} is not an integer in 1-5000`,
        );
    }
    return problems
      .check(routes.length > 0, "routes: none given")
      .check(new Set(routes.map(routeKey)).size === routes.length, "routes: a route key appears twice").list;
  }

  constructor(scope: Construct, id: string, props: ServiceApiProps) {
    super(scope, id);
    new Problems(`ServiceApi ${this.node.path}`).add(ServiceApi.problems(props)).throwIfAny();
    const routes = props.routes ?? ROUTES;
    const apiThrottle = props.apiThrottle ?? API_THROTTLE;
    const callbackThrottle = props.callbackThrottle ?? CALLBACK_THROTTLE;

    const callbackRoutes = routes.filter(isCallbackRoute);
    this.api = new HttpApi(this, "Api", {
      description:
        callbackRoutes.length > 0
          ? "im-edit: provider callbacks (open, verified in code) and /v1 (IAM)"
          : "im-edit: /v1 (IAM)",
      // Our own stage below, with access logs and throttling, which the default stage cannot take.
      createDefaultStage: false,
      ...(props.cors ? { corsPreflight: props.cors } : {}),
    });
    this.accessLogs = new LogGroup(this, "AccessLogs", {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, "Stage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: apiThrottle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });

    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const integration = (name: FunctionName): HttpLambdaIntegration => {
      let found = integrations.get(name);
      if (!found) {
        found = new HttpLambdaIntegration(`${name}Integration`, props.functions[name]);
        integrations.set(name, found);
      }
      return found;
    };
    const iam = new HttpIamAuthorizer();
    const none = new HttpNoneAuthorizer();
    this.routes = routes.map((route) => {
      const httpRoute = new HttpRoute(this, routeKey(route), {
        httpApi: this.api,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: integration(route.function),
        authorizer: route.auth === "api" ? iam : none,
      });
      if (route.auth === "none") {
        Validations.of(httpRoute).acknowledge({
          id: "AwsSolutions-APIG4",
          reason: isCallbackRoute(route)
            ? "Provider callback route: the providers cannot sign with AWS credentials. The recorder verifies " +
              "every request in code (Tencent: Sign = sha256(token + RequestTime) with a freshness window; " +
              "NetEase: CheckSum over the body's MD5) before anything is stored."
            : "The API's published contract (the OpenAPI document, generated from the handlers' schemas): " +
              "public by design for integrators, read-only, answered before the editor reads any store.",
        });
      }
      return httpRoute;
    });

    // Per-route throttling for the callback routes; the stage default (apiThrottle) covers the rest.
    if (callbackRoutes.length === 0) return;
    const stage = this.stage.node.defaultChild as CfnStage;
    stage.routeSettings = Object.fromEntries(
      callbackRoutes.map((route) => [
        routeKey(route),
        {
          ThrottlingRateLimit: callbackThrottle.rateLimit,
          ThrottlingBurstLimit: callbackThrottle.burstLimit,
        },
      ]),
    );
    // Route settings name routes that must exist first.
    for (const route of this.routes) this.stage.node.addDependency(route);
  }
}
