import { Logger } from "@aws-lambda-powertools/logger";

/**
 * One structured logger per process. Never give it a URL with a query string, a signature, a token,
 * a UserSig or message content at info level: log ids, commands and outcomes.
 */
export const logger = new Logger({ serviceName: "im-edit" });
