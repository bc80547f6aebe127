import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { MiddlewareObj } from "@middy/core";

/** The metrics' namespace and `service` dimension; the CDK stack's alarms use the same names. */
export const METRICS_NAMESPACE = "ImEdit";
export const SERVICE_NAME = "im-edit";

/**
 * Counted whenever a function refuses work because of its own configuration (fail closed): at a cold
 * start that finds an unusable secret, at each callback or edit refused for it (503 `misconfigured`),
 * and when the configuration cannot be loaded at all. The stack alarms on it.
 */
export const MISCONFIGURED_METRIC = "Misconfigured";

/**
 * The relay's (the stack alarms on both, infra/constructs/forward-relay.ts): counted by the recorder when a
 * recorded callback's forward cannot be enqueued (the app never gets it).
 */
export const FORWARD_LOST_METRIC = "ForwardLost";
/** Counted by the recorder when a before-send gets the fallback policy instead of the app's answer. */
export const FORWARD_FALLBACK_METRIC = "ForwardFallback";

/**
 * One EMF metrics object per process (namespace from POWERTOOLS_METRICS_NAMESPACE in AWS).
 * Locally and in tests POWERTOOLS_METRICS_DISABLED keeps it quiet.
 */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/**
 * Counts an exceptional outcome (spooled, misconfigured, publish failed, server error, ...), with `fields`
 * (e.g. a `reason`) on the metrics line. The happy
 * path counts nothing: Lambda's own Invocations, Errors and Duration metrics cover it, and each EMF
 * line costs a log line's ingestion.
 */
export function count(name: string, value = 1, fields?: Readonly<Record<string, string>>): void {
  metrics.addMetric(name, MetricUnit.Count, value);
  // Fields of the EMF line, not dimensions: the alarms watch one series per metric.
  for (const [key, field] of Object.entries(fields ?? {})) metrics.addMetadata(key, field);
}

/**
 * Publishes what the invocation counted, as one EMF line, and nothing when it counted nothing (unlike
 * Powertools' `logMetrics`, which writes a line, or a warning, on every invocation).
 */
export function flushMetrics<TEvent, TResult>(): MiddlewareObj<TEvent, TResult> {
  const flush = async (): Promise<void> => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}
