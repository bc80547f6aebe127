import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

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
 * One EMF metrics object per process (namespace from POWERTOOLS_METRICS_NAMESPACE in AWS).
 * Locally and in tests POWERTOOLS_METRICS_DISABLED keeps it quiet.
 */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

export function count(name: string, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}
