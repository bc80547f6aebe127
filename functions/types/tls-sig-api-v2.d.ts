/** tls-sig-api-v2 (CommonJS, no types): the one class and method im-edit uses. */
declare module "tls-sig-api-v2" {
  export class Api {
    constructor(sdkAppId: number, key: string);
    genUserSig(userId: string, expireSeconds: number): string;
  }
  const TLSSigAPIv2: { Api: typeof Api };
  export default TLSSigAPIv2;
}
