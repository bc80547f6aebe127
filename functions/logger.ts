import { LogFormatter, Logger, LogItem } from "@aws-lambda-powertools/logger";
import type { LogAttributes, UnformattedAttributes } from "@aws-lambda-powertools/logger/types";

/**
 * Every line is ingested by CloudWatch Logs at $0.50/GB, one per callback at least, so a line carries
 * only what tells it apart: level (Lambda's JSON log format filters on it), message, the request id,
 * then the line's own keys. No timestamp: every CloudWatch log event carries its own (`@timestamp`). Not the service name, function name, ARN, memory size or
 * log stream (the log group and stream say which function), not cold_start or sampling_rate; the X-Ray
 * trace id only when the invocation is traced (`Sampled=1`), where it links the line to its trace.
 */
export class CompactLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    const traced = /(?:^|;)Sampled=1(?:;|$)/.test(process.env._X_AMZN_TRACE_ID ?? "");
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        requestId: attributes.lambdaContext?.awsRequestId,
        ...(traced ? { xray_trace_id: attributes.xRayTraceId } : {}),
      },
    }).addAttributes(additionalLogAttributes);
  }
}

/**
 * One structured logger per process. Never give it a URL with a query string, a signature, a token,
 * a UserSig or message content at info level: log ids, commands and outcomes.
 */
export const logger = new Logger({ serviceName: "im-edit", logFormatter: new CompactLogFormatter() });
