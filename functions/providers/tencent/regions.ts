/** REST API domains per data center (tencent-chat-notes §4.1, modify_c2c_msg page). */
export const TENCENT_REGIONS = {
  cn: "console.tim.qq.com",
  sgp: "adminapisgp.im.qcloud.com",
  kr: "adminapikr.im.qcloud.com",
  jpn: "adminapijpn.im.qcloud.com",
  ger: "adminapiger.im.qcloud.com",
  ind: "adminapiind.im.qcloud.com",
  usa: "adminapiusa.im.qcloud.com",
  idn: "adminapiidn.im.qcloud.com",
} as const;

export type TencentRegion = keyof typeof TENCENT_REGIONS;

export const tencentBaseUrl = (region: TencentRegion): string => `https://${TENCENT_REGIONS[region]}`;
