import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/**
 * One EMF metrics object per process (namespace from POWERTOOLS_METRICS_NAMESPACE in AWS).
 * Locally and in tests POWERTOOLS_METRICS_DISABLED keeps it quiet.
 */
export const metrics = new Metrics({ namespace: "ImEdit", serviceName: "im-edit" });

export function count(name: string, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}
